// The app's storage account: Functions host storage (blob leases, keys), the deployment
// package container and the app's tables. Identity-only: shared keys are off.

@description('Storage account name (3-24 lowercase letters and digits).')
param name string
param location string
param tags object = {}

@description('Prefix of every table the app uses (RISKWATCH_TABLE_PREFIX).')
param tablePrefix string

@description('Blob container holding the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Principal id of the user-assigned identity the function app runs as.')
param appPrincipalId string

// The single list of the app's tables (suffixes after RISKWATCH_TABLE_PREFIX).
var tableSuffixes = [
  'dedup'
  'ledger'
  'outbox'
  'cursors'
  'history'
  'blobcursors'
  'directory'
  'sinkhealth'
  'incidents'
]

// Well-known built-in role definition ids.
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_35: Flex Consumption without VNet integration reaches its host storage over the public endpoint; access is Entra-only (shared keys disabled).
  //checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35; a private endpoint needs VNet integration, which costs money at rest.
  //checkov:skip=CKV_AZURE_206: state is rebuildable (dedup, cursors, outbox); LRS keeps the at-rest cost minimal.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
        }
        table: {
          enabled: true
        }
        queue: {
          enabled: true
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for suffix in tableSuffixes: {
    parent: tableService
    name: '${tablePrefix}${suffix}'
  }
]

// Host storage (timer leases, host keys) and the deployment package.
resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, storageBlobDataOwner)
  scope: storage
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
  }
}

// The app's own state tables (dedup, ledger, outbox, cursors, ...).
resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, storageTableDataContributor)
  scope: storage
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
  }
}

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output tableEndpoint string = storage.properties.primaryEndpoints.table
output deploymentContainerUrl string = '${storage.properties.primaryEndpoints.blob}${deploymentContainer.name}'
output tableNames array = [for (suffix, i) in tableSuffixes: tables[i].name]
