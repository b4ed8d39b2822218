// Flex Consumption plan + Python function app running as the user-assigned identity.
// Every RISKWATCH_* setting the code reads is set here (tests/test_infra_settings.py checks it).

param location string
param tags object = {}
param planName string
param appName string

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity (AZURE_CLIENT_ID, storage __clientId).')
param identityClientId string

param storageAccountName string
param deploymentContainerUrl string

@description('Application Insights connection string (not a secret: ingestion needs Entra auth).')
param appInsightsConnectionString string

@description('Key Vault URI (https://<name>.vault.azure.net/) holding the sink secrets.')
param vaultUri string

@description('Alert sinks whose secrets are in Key Vault, trimmed and lower-cased by main.bicep; an unknown name fails the deployment.')
@allowed([
  '' // an empty item of the comma list: no sinks, or a trailing comma
  'webhook'
  'teams'
  'slack'
])
param alertSinks array

@description('Export storage account name for the diagnostic-settings path; empty: path off.')
param exportStorageAccountName string = ''

@description('Event Hubs path (all three empty: off): <namespace>.servicebus.windows.net, hub, consumer group.')
param eventHubNamespace string = ''
param eventHubName string = ''
param eventHubConsumerGroup string = ''

param maximumInstanceCount int = 40
param instanceMemoryMB int = 2048

// ---- app behaviour (names and defaults agreed in service/settings/__init__.py) ----
param tablePrefix string
@description('RISKWATCH_FEEDS: comma list of feed names.')
param feeds string
param schedule string
param graphBaseUrl string
param lookbackHours int
param runBudgetSeconds int
param maxAlertsPerRun int
@description('RISKWATCH_DISABLED_RULES: comma list of rule ids.')
param disabledRules string
param webhookMinSeverity string
param teamsMinSeverity string
param slackMinSeverity string
param businessTimezone string
param businessHours string
param businessDays string
param portalUrl string

// The function name Event Grid delivers export BlobCreated events to (postdeploy template).
var exportFunctionName = 'export_blob_created'

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  //checkov:skip=CKV_AZURE_225: zone redundancy needs always-ready instances, which cost money at rest; a 5-minute poller tolerates a zone outage.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

// Host storage and the app's own storage, both through the identity (no keys anywhere).
var hostSettings = {
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  AZURE_CLIENT_ID: identityClientId
}

var appSettings = {
  RISKWATCH_STORAGE__accountName: storageAccountName
  RISKWATCH_STORAGE__credential: 'managedidentity'
  RISKWATCH_STORAGE__clientId: identityClientId
  RISKWATCH_TABLE_PREFIX: tablePrefix
  RISKWATCH_FEEDS: feeds
  RISKWATCH_SCHEDULE: schedule
  RISKWATCH_GRAPH_BASE_URL: graphBaseUrl
  RISKWATCH_GRAPH_AUTH: 'managedidentity'
  RISKWATCH_LOOKBACK_HOURS: string(lookbackHours)
  RISKWATCH_RUN_BUDGET_SECONDS: string(runBudgetSeconds)
  RISKWATCH_MAX_ALERTS_PER_RUN: string(maxAlertsPerRun)
  RISKWATCH_DISABLED_RULES: disabledRules
  RISKWATCH_BUSINESS_TIMEZONE: businessTimezone
  RISKWATCH_BUSINESS_HOURS: businessHours
  RISKWATCH_BUSINESS_DAYS: businessDays
  RISKWATCH_PORTAL_URL: portalUrl
}

// Sink settings exist only for the sinks switched on; secrets are Key Vault references.
var webhookSettings = {
  RISKWATCH_WEBHOOK_URL: '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/riskwatch-webhook-url/)'
  RISKWATCH_WEBHOOK_SECRET: '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/riskwatch-webhook-secret/)'
  RISKWATCH_WEBHOOK_MIN_SEVERITY: webhookMinSeverity
}

var teamsSettings = {
  RISKWATCH_TEAMS_WEBHOOK_URL: '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/riskwatch-teams-webhook-url/)'
  RISKWATCH_TEAMS_MIN_SEVERITY: teamsMinSeverity
}

var slackSettings = {
  RISKWATCH_SLACK_WEBHOOK_URL: '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/riskwatch-slack-webhook-url/)'
  RISKWATCH_SLACK_MIN_SEVERITY: slackMinSeverity
}

var exportSettings = {
  RISKWATCH_EXPORT_STORAGE__accountName: exportStorageAccountName
  RISKWATCH_EXPORT_STORAGE__clientId: identityClientId
}

// The Event Hubs trigger's identity-based connection (RISKWATCH_EVENTHUB__*), read by the host;
// the trigger is indexed only when these exist (service/functions/triggers.py).
var eventHubSettings = {
  RISKWATCH_EVENTHUB__fullyQualifiedNamespace: eventHubNamespace
  RISKWATCH_EVENTHUB__credential: 'managedidentity'
  RISKWATCH_EVENTHUB__clientId: identityClientId
  RISKWATCH_EVENTHUB_NAME: eventHubName
  RISKWATCH_EVENTHUB_CONSUMER_GROUP: eventHubConsumerGroup
}

// Only the sinks switched on get settings; the export settings only with the export path.
var allSettings = union(
  hostSettings,
  appSettings,
  contains(alertSinks, 'webhook') ? webhookSettings : {},
  contains(alertSinks, 'teams') ? teamsSettings : {},
  contains(alertSinks, 'slack') ? slackSettings : {},
  empty(exportStorageAccountName) ? {} : exportSettings,
  empty(eventHubName) ? {} : eventHubSettings
)

resource app 'Microsoft.Web/sites@2024-04-01' = {
  //checkov:skip=CKV_AZURE_17: no client-facing HTTP endpoint; Event Grid cannot present client certificates to the webhook it calls.
  //checkov:skip=CKV_AZURE_212: Flex scales from zero; always-ready instances cost money at rest and the timer is a singleton anyway.
  //checkov:skip=CKV_AZURE_213: no HTTP endpoint to probe; the timer and Event Grid triggers are monitored through Application Insights.
  //checkov:skip=CKV_AZURE_222: Event Grid must reach the Event Grid trigger's webhook over the public endpoint (system-key protected).
  name: appName
  location: location
  tags: union(tags, { 'azd-service-name': 'riskwatch' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      remoteDebuggingEnabled: false
      // The Key Vault role exists before this: keyvault.bicep finishes before the site starts.
      appSettings: [
        for setting in items(allSettings): {
          name: setting.key
          value: setting.value
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// No publishing with user names and passwords: azd deploys with an Entra token.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = app.name
output id string = app.id
output defaultHostName string = app.properties.defaultHostName
output exportFunctionResourceId string = '${app.id}/functions/${exportFunctionName}'
