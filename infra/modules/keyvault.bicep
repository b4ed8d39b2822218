// Key Vault (RBAC mode) holding the alert sinks' webhook URLs and the HMAC secret.
// The secrets are set by an operator with `az keyvault secret set` (README), never passed
// through a template, so they stay out of deployment history and azd's .env files. The app
// settings reference the fixed secret names by versionless URI (functionapp.bicep).

param name string
param location string
param tags object = {}

@description('Principal id of the identity that reads the secrets (Key Vault Secrets User).')
param appPrincipalId string

@description('Principal id allowed to set the secrets (Key Vault Secrets Officer); empty: none.')
param secretsOfficerPrincipalId string = ''

@description('Type of secretsOfficerPrincipalId: User (azd login) or ServicePrincipal (CI); main.bicep passes azd AZURE_PRINCIPAL_TYPE.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param secretsOfficerPrincipalType string

var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  //checkov:skip=CKV_AZURE_109: Key Vault references are resolved by App Service over the public endpoint; Flex without VNet integration cannot use a vault firewall. Access is RBAC-only.
  //checkov:skip=CKV_AZURE_189: same reason as CKV_AZURE_109; a private endpoint needs VNet integration, which costs money at rest.
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
  }
}

// Lets the deploying operator run `az keyvault secret set` (RBAC vaults give Owner no data access).
resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(secretsOfficerPrincipalId)) {
  name: guid(vault.id, secretsOfficerPrincipalId, keyVaultSecretsOfficer)
  scope: vault
  properties: {
    principalId: secretsOfficerPrincipalId
    principalType: secretsOfficerPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
  }
}

output name string = vault.name
output vaultUri string = vault.properties.vaultUri
