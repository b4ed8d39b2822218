# azd postprovision hook (Windows): same as postprovision.sh. Grants the identity its Microsoft
# Graph app roles in a deployment of its own (infra/graph/graph-permissions.bicep), retrying
# with exponential backoff a bounded number of times, because a grant to a principal created
# moments before can fail with "Not a valid reference update" (microsoftgraph/msgraph-bicep-types#193).
# See infra/README-deploy.md.
$ErrorActionPreference = 'Stop'

$MaxAttempts = 5    # 30 + 60 + 120 + 240 s between them: at most 7.5 minutes of waiting
$FirstDelay = 30

$feeds = if ($env:RISKWATCH_GRAPH_FEEDS) { $env:RISKWATCH_GRAPH_FEEDS } else { 'riskDetections,riskyUsers,signIns,directoryAudits,directoryRoles' }
$remediation = if ($env:RISKWATCH_GRAPH_REMEDIATION) { $env:RISKWATCH_GRAPH_REMEDIATION } else { 'false' }
$adminCommand = "  az deployment group create -g $env:AZURE_RESOURCE_GROUP -n riskwatch-graph-permissions -f infra/graph/graph-permissions.bicep -p principalId=$env:RISKWATCH_IDENTITY_PRINCIPAL_ID feeds=$feeds enableRemediation=$remediation"

if ($env:RISKWATCH_GRAPH_GRANT -and $env:RISKWATCH_GRAPH_GRANT -ne 'true') {
  Write-Host 'postprovision: Graph app roles not granted (grantGraphPermissions=false).'
  Write-Host 'postprovision: a Privileged Role Administrator or Global Administrator runs, once:'
  Write-Host $adminCommand
  exit 0
}
if (-not $env:AZURE_RESOURCE_GROUP -or -not $env:RISKWATCH_IDENTITY_PRINCIPAL_ID) {
  Write-Error 'postprovision: AZURE_RESOURCE_GROUP or RISKWATCH_IDENTITY_PRINCIPAL_ID is not set (run through azd).'
  exit 1
}

$delay = $FirstDelay
for ($attempt = 1; $attempt -le $MaxAttempts; $attempt++) {
  $output = az deployment group create `
    --resource-group $env:AZURE_RESOURCE_GROUP `
    --name riskwatch-graph-permissions `
    --template-file infra/graph/graph-permissions.bicep `
    --parameters principalId=$env:RISKWATCH_IDENTITY_PRINCIPAL_ID feeds=$feeds enableRemediation=$remediation `
    --output none 2>&1 | Out-String
  if ($LASTEXITCODE -eq 0) {
    Write-Host "postprovision: Graph app roles granted (attempt $attempt of $MaxAttempts)."
    exit 0
  }
  [Console]::Error.WriteLine($output)
  if ($output -match 'Authorization_RequestDenied|Insufficient privileges') {
    # Waiting does not help: the deployer is not allowed to grant app roles.
    [Console]::Error.WriteLine('postprovision: you may not grant Graph app roles. Set')
    [Console]::Error.WriteLine('  azd env set RISKWATCH_GRANT_GRAPH_PERMISSIONS false')
    [Console]::Error.WriteLine('and have a Privileged Role Administrator or Global Administrator run:')
    [Console]::Error.WriteLine($adminCommand)
    exit 1
  }
  if ($attempt -lt $MaxAttempts) {
    Write-Host "postprovision: Graph grant attempt $attempt of $MaxAttempts failed; retrying in $delay s."
    Start-Sleep -Seconds $delay
    $delay = $delay * 2
  }
}
[Console]::Error.WriteLine("postprovision: Graph grant failed $MaxAttempts times; rerun 'azd hooks run postprovision'.")
exit 1
