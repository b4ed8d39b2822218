// Riskwatch: everything one tenant needs, in one resource group, with one command
// (`azd up`, or `az deployment sub create -l <region> -f infra/main.bicep -p infra/main.parameters.json`).
// See infra/README-deploy.md for who must consent to what.
//
// The Graph app roles are NOT granted here: the azd postprovision hook
// (infra/hooks/postprovision.sh) deploys infra/graph/graph-permissions.bicep on its own, with
// retries, once this deployment has created the identity (a grant in the same deployment can
// fail on a first run while Entra replicates the new principal).
targetScope = 'subscription'

@minLength(1)
@maxLength(40)
@description('Environment name (azd AZURE_ENV_NAME); names and tags derive from it.')
param environmentName string

@minLength(1)
@description('Region of every resource (must offer Flex Consumption).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the deploying user (azd AZURE_PRINCIPAL_ID): may set the Key Vault secrets. Empty: nobody.')
param principalId string = ''

@description('Type of principalId (azd AZURE_PRINCIPAL_TYPE): User, or ServicePrincipal when a CI pipeline deploys.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Let the postprovision hook grant the Graph application permissions (needs Privileged Role Administrator or Global Administrator). False: an administrator runs infra/graph/graph-permissions.bicep.')
param grantGraphPermissions bool = true

@description('Also grant Graph write permissions for remediation. Off by default.')
param enableRemediation bool = false

@description('Deploy the diagnostic-settings export path (export storage account + Event Grid system topic).')
param enableExport bool = false

@description('Deploy the Event Hubs path (namespace, hub, consumer group, Send-only rule for the Entra diagnostic setting): for tenants past the Graph budget of about 2.1 million sign-ins a day.')
param enableEventHubs bool = false

@description('Days each evidence bundle blob stays immutable (WORM) in the evidence container; the policy is deployed unlocked: lock it after review. Retained blobs stop `azd down` from deleting the storage account.')
@minValue(1)
param evidenceRetentionDays int = 365

@description('Alert sinks to switch on (comma list of webhook, teams, slack; spaces and case ignored); their secrets go in Key Vault. An unknown name fails the deployment.')
param alertSinks string = ''

// ---- app settings (defaults are the code's defaults) ----
@minLength(3)
@maxLength(40)
@description('RISKWATCH_TABLE_PREFIX: prefix of every table (letters and digits).')
param tablePrefix string = 'riskwatch'

@description('RISKWATCH_FEEDS: comma list of Graph feeds; also decides the Graph permissions granted.')
param feeds string = 'riskDetections,riskyUsers,signIns,directoryAudits,directoryRoles'

@description('RISKWATCH_SCHEDULE: NCRONTAB (six fields, seconds first).')
param schedule string = '0 */5 * * * *'

@description('RISKWATCH_GRAPH_BASE_URL (national clouds differ).')
param graphBaseUrl string = 'https://graph.microsoft.com'

param lookbackHours int = 48
param runBudgetSeconds int = 480
param maxAlertsPerRun int = 1000

@description('RISKWATCH_DISABLED_RULES: comma list of rule ids.')
param disabledRules string = ''

@allowed([
  'informational'
  'low'
  'medium'
  'high'
  'critical'
])
param webhookMinSeverity string = 'medium'

@allowed([
  'informational'
  'low'
  'medium'
  'high'
  'critical'
])
param teamsMinSeverity string = 'medium'

@allowed([
  'informational'
  'low'
  'medium'
  'high'
  'critical'
])
param slackMinSeverity string = 'medium'

param businessTimezone string = 'UTC'
param businessHours string = '08:00-18:00'
param businessDays string = 'Mon-Fri'
param portalUrl string = 'https://entra.microsoft.com'

@description('Days exported logs and dead letters are kept (export path only).')
param exportRetentionDays int = 30

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  app: 'riskwatch'
}
var deploymentContainerName = 'app-package'

// "webhook, Teams" is webhook and teams: each name trimmed and lower-cased. functionapp.bicep
// allows only the known names (and '' for an empty item), so a typo fails the deployment
// instead of silently leaving a sink off. (A for-expression, not filter()/map(): checkov's
// pycep-parser 0.5.1 cannot parse lambdas.)
var sinkNames = [for sink in split(alertSinks, ','): toLower(trim(sink))]
var deadLetterContainerName = 'eventgrid-deadletter'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-riskwatch-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-riskwatch-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'strw${resourceToken}'
    location: location
    tags: tags
    tablePrefix: tablePrefix
    deploymentContainerName: deploymentContainerName
    appPrincipalId: identity.outputs.principalId
    evidenceRetentionDays: evidenceRetentionDays
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    workspaceName: 'log-riskwatch-${resourceToken}'
    appInsightsName: 'appi-riskwatch-${resourceToken}'
    appPrincipalId: identity.outputs.principalId
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: 'kv-rw-${resourceToken}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
    secretsOfficerPrincipalId: principalId
    secretsOfficerPrincipalType: principalType
  }
}

module export 'modules/export.bicep' = if (enableExport) {
  name: 'export'
  scope: rg
  params: {
    name: 'strwexp${resourceToken}'
    location: location
    tags: tags
    systemTopicName: 'evgt-riskwatch-export-${resourceToken}'
    deadLetterContainerName: deadLetterContainerName
    appPrincipalId: identity.outputs.principalId
    retentionDays: exportRetentionDays
  }
}

module eventHubs 'modules/eventhubs.bicep' = if (enableEventHubs) {
  name: 'eventhubs'
  scope: rg
  params: {
    namespaceName: 'evhns-riskwatch-${resourceToken}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    location: location
    tags: tags
    planName: 'plan-riskwatch-${resourceToken}'
    appName: 'func-riskwatch-${resourceToken}'
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appInsightsConnectionString: monitoring.outputs.connectionString
    vaultUri: keyVault.outputs.vaultUri
    alertSinks: sinkNames
    exportStorageAccountName: enableExport ? export.outputs.name : ''
    eventHubNamespace: enableEventHubs ? eventHubs.outputs.fullyQualifiedNamespace : ''
    eventHubName: enableEventHubs ? eventHubs.outputs.hubName : ''
    eventHubConsumerGroup: enableEventHubs ? eventHubs.outputs.consumerGroupName : ''
    tablePrefix: tablePrefix
    feeds: feeds
    schedule: schedule
    graphBaseUrl: graphBaseUrl
    lookbackHours: lookbackHours
    runBudgetSeconds: runBudgetSeconds
    maxAlertsPerRun: maxAlertsPerRun
    disabledRules: disabledRules
    webhookMinSeverity: webhookMinSeverity
    teamsMinSeverity: teamsMinSeverity
    slackMinSeverity: slackMinSeverity
    businessTimezone: businessTimezone
    businessHours: businessHours
    businessDays: businessDays
    portalUrl: portalUrl
  }
}

// azd stores these outputs in its environment; the postprovision and postdeploy hooks read them.
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output RISKWATCH_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output RISKWATCH_IDENTITY_CLIENT_ID string = identity.outputs.clientId
// What the postprovision hook grants (graph/graph-permissions.bicep), as deployed here.
output RISKWATCH_GRAPH_GRANT bool = grantGraphPermissions
output RISKWATCH_GRAPH_FEEDS string = feeds
output RISKWATCH_GRAPH_REMEDIATION bool = enableRemediation
output RISKWATCH_EXPORT_ENABLED bool = enableExport
output RISKWATCH_EXPORT_STORAGE_ACCOUNT_ID string = enableExport ? export.outputs.id : ''
output RISKWATCH_EXPORT_SYSTEM_TOPIC_NAME string = enableExport ? export.outputs.systemTopicName : ''
output RISKWATCH_EXPORT_DEADLETTER_CONTAINER string = deadLetterContainerName
output RISKWATCH_EVENTHUBS_ENABLED bool = enableEventHubs
output RISKWATCH_EVENTHUB_SEND_RULE_ID string = enableEventHubs ? eventHubs.outputs.authorizationRuleId : ''
output RISKWATCH_EVENTHUB_NAME string = enableEventHubs ? eventHubs.outputs.hubName : ''
