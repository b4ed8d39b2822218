// Optional Event Hubs path (enableEventHubs): the namespace, the hub the Entra diagnostic
// setting streams to, the app's consumer group, the Send-only rule that setting needs, and
// Azure Event Hubs Data Receiver for the app's identity on the hub.
//
// Local (SAS) auth stays on for ONE reason: a tenant-scope Entra diagnostic setting
// (infra/tenant/entra-eventhubs-diagnostic-settings.bicep) only accepts an authorization
// rule id (eventHubAuthorizationRuleId), not an identity. That rule can only send, to this
// hub only; the app itself reads with its identity (no key anywhere in its settings).

param namespaceName string
param location string
param tags object = {}
param hubName string = 'entra-logs'
param consumerGroupName string = 'riskwatch'

@description('Principal id of the app identity, which reads the hub.')
param appPrincipalId string

@description('Days the hub keeps events (Standard: 1-7): how long a stopped app can catch up.')
@minValue(1)
@maxValue(7)
param retentionDays int = 7

@description('Partitions: parallel Function instances that can read at once (fixed at creation on Standard).')
@minValue(1)
@maxValue(32)
param partitionCount int = 8

var eventHubsDataReceiver = 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  // checkov 3.3.30 has no Bicep check on disableLocalAuth (only CKV_AZURE_223, TLS 1.2, applies),
  // so no skip is needed; the reason local auth stays on is in the header above.
  name: namespaceName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: 1
  }
  properties: {
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled' // Entra diagnostic settings and the Flex app (no VNet) reach it publicly
    disableLocalAuth: false // see the header: the diagnostic setting needs its Send-only rule
    isAutoInflateEnabled: true
    maximumThroughputUnits: 4
  }
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: hubName
  properties: {
    partitionCount: partitionCount
    messageRetentionInDays: retentionDays
  }
}

resource consumerGroup 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: hub
  name: consumerGroupName
  properties: {
    userMetadata: 'Riskwatch Event Hubs trigger'
  }
}

// Entra diagnostic settings reference a namespace-level rule (eventHubAuthorizationRuleId) and
// name the hub separately (eventHubName): Send only, no Listen, no Manage.
resource diagnosticsSend 'Microsoft.EventHub/namespaces/authorizationRules@2024-01-01' = {
  parent: namespace
  name: 'entra-diagnostics-send'
  properties: {
    rights: [
      'Send'
    ]
  }
}

resource appReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hub.id, appPrincipalId, eventHubsDataReceiver)
  scope: hub
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventHubsDataReceiver)
  }
}

output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
output hubName string = hub.name
output consumerGroupName string = consumerGroup.name
output authorizationRuleId string = diagnosticsSend.id
