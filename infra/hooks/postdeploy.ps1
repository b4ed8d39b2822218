# azd postdeploy hook (Windows): same as postdeploy.sh.
$ErrorActionPreference = 'Stop'
if ($env:RISKWATCH_EXPORT_ENABLED -ne 'true') {
  Write-Host 'postdeploy: export path off (enableExport=false); no Event Grid subscription.'
  exit 0
}
for ($attempt = 1; $attempt -le 5; $attempt++) {
  az deployment group create `
    --resource-group $env:AZURE_RESOURCE_GROUP `
    --name riskwatch-eventgrid-subscription `
    --template-file infra/postdeploy/eventgrid-subscription.bicep `
    --parameters systemTopicName=$env:RISKWATCH_EXPORT_SYSTEM_TOPIC_NAME `
                 functionAppName=$env:AZURE_FUNCTION_APP_NAME `
                 exportStorageAccountId=$env:RISKWATCH_EXPORT_STORAGE_ACCOUNT_ID `
                 deadLetterContainerName=$env:RISKWATCH_EXPORT_DEADLETTER_CONTAINER `
    --output none
  if ($LASTEXITCODE -eq 0) {
    Write-Host 'postdeploy: Event Grid subscription riskwatch-export-blob-created is in place.'
    exit 0
  }
  Write-Host "postdeploy: function not visible yet; retrying in 30 s (attempt $attempt of 5)."
  Start-Sleep -Seconds 30
}
Write-Error "postdeploy: Event Grid subscription failed 5 times; rerun 'azd hooks run postdeploy'."
exit 1
