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

@description('Blob container of the evidence bundles (RISKWATCH_EVIDENCE_CONTAINER).')
param evidenceContainerName string = 'evidence'

@description('Days each evidence blob is kept immutable (WORM). The policy is deployed unlocked: lock it after review (it cannot be shortened or removed once locked).')
@minValue(1)
@maxValue(146000)
param evidenceRetentionDays int = 365

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
  'labels'
  'audit' // the response audit log: append-only (service/state/audit.py)
  'responseclaims'
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
    // Version-level immutability (the evidence container) requires blob versioning.
    isVersioningEnabled: true
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

// The periodic reviews (review.html, review.json per window; service/review/schedule.py).
// Private: no anonymous access, and shared keys are off for the account, so only Entra
// identities with a data role read it: the app's identity (Storage Blob Data Owner below)
// and whoever an operator grants Storage Blob Data Reader.
resource reviewsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'reviews'
  properties: {
    publicAccess: 'None'
  }
}

// Evidence bundles (service/response/bundles.py): write once, read many. Version-level
// immutability with a time-based retention policy: no blob version can be changed or
// deleted for evidenceRetentionDays, by anyone, the app included. Unlocked, so a tenant can
// review and then lock it; while it holds blobs, the account cannot be deleted (azd down).
resource evidenceContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: evidenceContainerName
  properties: {
    publicAccess: 'None'
    immutableStorageWithVersioning: {
      enabled: true
    }
  }
}

resource evidenceRetention 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = {
  parent: evidenceContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: evidenceRetentionDays
    // Bundles are block blobs written once: no appends to protected blobs.
    allowProtectedAppendWrites: false
    allowProtectedAppendWritesAll: false
  }
}

// Versioning keeps every overwritten version of the host's own blobs (leases, keys, the
// package, reviews): delete those previous versions after a week. Evidence is not matched.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'previous-versions'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
                'appendBlob'
              ]
              prefixMatch: [
                'azure-webjobs-hosts/'
                'azure-webjobs-secrets/'
                '${deploymentContainerName}/'
                'reviews/'
              ]
            }
            actions: {
              version: {
                delete: {
                  daysAfterCreationGreaterThan: 7
                }
              }
            }
          }
        }
      ]
    }
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

// Host storage (timer leases, host keys), the deployment package and the reviews container.
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
output evidenceContainerName string = evidenceContainer.name
output deploymentContainerUrl string = '${storage.properties.primaryEndpoints.blob}${deploymentContainer.name}'
output tableNames array = [for (suffix, i) in tableSuffixes: tables[i].name]
