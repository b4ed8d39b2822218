// Tenant-level Entra ID diagnostic setting: export the sign-in, risk and audit logs to the
// export storage account. Separate because it is a TENANT-scope deployment, which needs
// an administrator (see infra/README-deploy.md), and it is optional.
//
//   az deployment tenant create --location <region> \
//     --template-file infra/tenant/entra-diagnostic-settings.bicep \
//     --parameters exportStorageAccountId=<RISKWATCH_EXPORT_STORAGE_ACCOUNT_ID>
targetScope = 'tenant'

@description('Resource id of the export storage account (output RISKWATCH_EXPORT_STORAGE_ACCOUNT_ID).')
param exportStorageAccountId string

param name string = 'riskwatch-export'

@description('Entra log categories; each lands in container insights-logs-<lowercased category>.')
param categories array = [
  'SignInLogs'
  'NonInteractiveUserSignInLogs'
  'ServicePrincipalSignInLogs'
  'ManagedIdentitySignInLogs'
  'UserRiskEvents'
  'RiskyUsers'
  'ServicePrincipalRiskEvents'
  'AuditLogs' // directory audits: what an account does after a risky sign-in
]

resource diagnosticSetting 'microsoft.aadiam/diagnosticSettings@2017-04-01' = {
  name: name
  properties: {
    storageAccountId: exportStorageAccountId
    logs: [
      for category in categories: {
        category: category
        enabled: true
      }
    ]
  }
}

output name string = diagnosticSetting.name
