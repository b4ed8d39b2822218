#!/bin/sh
# azd postdeploy hook: create the Event Grid subscription once the code (and so the
# export_blob_created function) exists. azd exports main.bicep's outputs as variables.
set -eu
if [ "${RISKWATCH_EXPORT_ENABLED:-false}" != "true" ]; then
  echo "postdeploy: export path off (enableExport=false); no Event Grid subscription."
  exit 0
fi
# The function list can lag the deployment by a minute: retry until Event Grid accepts it.
attempt=1
until az deployment group create \
    --resource-group "$AZURE_RESOURCE_GROUP" \
    --name riskwatch-eventgrid-subscription \
    --template-file infra/postdeploy/eventgrid-subscription.bicep \
    --parameters systemTopicName="$RISKWATCH_EXPORT_SYSTEM_TOPIC_NAME" \
                 functionAppName="$AZURE_FUNCTION_APP_NAME" \
                 exportStorageAccountId="$RISKWATCH_EXPORT_STORAGE_ACCOUNT_ID" \
                 deadLetterContainerName="$RISKWATCH_EXPORT_DEADLETTER_CONTAINER" \
    --output none; do
  if [ "$attempt" -ge 5 ]; then
    echo "postdeploy: Event Grid subscription failed 5 times; rerun 'azd hooks run postdeploy'." >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  echo "postdeploy: function not visible yet; retrying in 30 s (attempt $attempt of 5)."
  sleep 30
done
echo "postdeploy: Event Grid subscription riskwatch-export-blob-created is in place."
