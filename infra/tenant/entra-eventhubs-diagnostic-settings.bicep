// Tenant-level Entra ID diagnostic setting for the Event Hubs path: stream the sign-in and
// risk logs to the hub of infra/modules/eventhubs.bicep. TENANT scope, so an administrator
// deploys it (see README.md, Deployment: Event Hubs path), and it is optional.
//
//   az deployment tenant create --location <region> \
//     --template-file infra/tenant/entra-eventhubs-diagnostic-settings.bicep \
//     --parameters eventHubAuthorizationRuleId=<RISKWATCH_EVENTHUB_SEND_RULE_ID> \
//                  eventHubName=<RISKWATCH_EVENTHUB_NAME>
//
// Entra diagnostic settings take a shared access rule id, not an identity: the rule is the
// namespace's Send-only 'entra-diagnostics-send' (no Listen, no Manage).
targetScope = 'tenant'

@description('Resource id of the Send-only authorization rule (output RISKWATCH_EVENTHUB_SEND_RULE_ID).')
param eventHubAuthorizationRuleId string

@description('The hub the app reads (output RISKWATCH_EVENTHUB_NAME).')
param eventHubName string

param name string = 'riskwatch-eventhubs'

@description('Entra log categories streamed; each message is a {"records": [...]} envelope of them.')
param categories array = [
  'SignInLogs'
  'NonInteractiveUserSignInLogs'
  'ServicePrincipalSignInLogs'
  'ManagedIdentitySignInLogs'
  'UserRiskEvents'
  'RiskyUsers'
  'AuditLogs' // directory audits (the normalizers read them as for the export path)
]

resource diagnosticSetting 'microsoft.aadiam/diagnosticSettings@2017-04-01' = {
  name: name
  properties: {
    eventHubAuthorizationRuleId: eventHubAuthorizationRuleId
    eventHubName: eventHubName
    logs: [
      for category in categories: {
        category: category
        enabled: true
      }
    ]
  }
}

output name string = diagnosticSetting.name
