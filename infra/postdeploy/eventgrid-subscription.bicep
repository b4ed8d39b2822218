// Second step of the export path, run AFTER the code is deployed (azd postdeploy hook,
// infra/hooks/postdeploy.sh): Event Grid refuses a function endpoint that does not exist.
// Subscribes the export_blob_created Event Grid function to BlobCreated on the Entra
// diagnostic-settings export containers, dead-lettering with the topic's own identity.
//
//   az deployment group create -g <rg> -f infra/postdeploy/eventgrid-subscription.bicep \
//     -p systemTopicName=<topic> functionAppName=<app> exportStorageAccountId=<id>

@description('Event Grid system topic on the export storage account (modules/export.bicep).')
param systemTopicName string

@description('Function app hosting the Event Grid trigger.')
param functionAppName string

@description('Resource id of the export storage account (holds the dead-letter container).')
param exportStorageAccountId string

@description('Event Grid-triggered function receiving BlobCreated (service code).')
param functionName string = 'export_blob_created'

param deadLetterContainerName string = 'eventgrid-deadletter'

@description('Export containers (insights-logs-<category>) whose new blobs the app registers; matches the categories in infra/tenant/entra-diagnostic-settings.bicep.')
param exportContainers array = [
  'insights-logs-signinlogs'
  'insights-logs-noninteractiveusersigninlogs'
  'insights-logs-serviceprincipalsigninlogs'
  'insights-logs-managedidentitysigninlogs'
  'insights-logs-userriskevents'
  'insights-logs-riskyusers'
  'insights-logs-serviceprincipalriskevents'
  'insights-logs-auditlogs'
]

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: systemTopic
  name: 'riskwatch-export-blob-created'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionApp.id}/functions/${functionName}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectEndsWith: '.json'
      // One hint per hourly PT1H.json; only the export containers the app reads.
      advancedFilters: [
        {
          operatorType: 'StringBeginsWith'
          key: 'subject'
          values: [for container in exportContainers: '/blobServices/default/containers/${container}/']
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: exportStorageAccountId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output subscriptionName string = subscription.name
