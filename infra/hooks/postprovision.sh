#!/bin/sh
# azd postprovision hook: grant the app's managed identity its Microsoft Graph app roles, in a
# deployment of its own (infra/graph/graph-permissions.bicep), after main.bicep created the
# identity. A grant to a principal created moments before can fail with "Not a valid reference
# update" until Entra has replicated it (microsoftgraph/msgraph-bicep-types#193), so this
# retries with exponential backoff, a bounded number of times. azd runs it after provisioning
# and before the code is deployed, so the app's first Graph token already carries the roles.
# azd exports main.bicep's outputs (RISKWATCH_GRAPH_*, AZURE_RESOURCE_GROUP) as variables.
# See infra/README-deploy.md.
set -eu

MAX_ATTEMPTS=5    # 30 + 60 + 120 + 240 s between them: at most 7.5 minutes of waiting
FIRST_DELAY=30

admin_command() {
  echo "  az deployment group create -g ${AZURE_RESOURCE_GROUP:-rg-riskwatch-<env>} -n riskwatch-graph-permissions \\"
  echo "    -f infra/graph/graph-permissions.bicep \\"
  echo "    -p principalId=${RISKWATCH_IDENTITY_PRINCIPAL_ID:-<RISKWATCH_IDENTITY_PRINCIPAL_ID>} feeds=${RISKWATCH_GRAPH_FEEDS:-riskDetections,riskyUsers,signIns,directoryAudits,directoryRoles} enableRemediation=${RISKWATCH_GRAPH_REMEDIATION:-false}"
}

if [ "${RISKWATCH_GRAPH_GRANT:-true}" != "true" ]; then
  echo "postprovision: Graph app roles not granted (grantGraphPermissions=false)."
  echo "postprovision: a Privileged Role Administrator or Global Administrator runs, once:"
  admin_command
  exit 0
fi

: "${AZURE_RESOURCE_GROUP:?postprovision: AZURE_RESOURCE_GROUP is not set (run through azd)}"
: "${RISKWATCH_IDENTITY_PRINCIPAL_ID:?postprovision: RISKWATCH_IDENTITY_PRINCIPAL_ID is not set (run through azd)}"

attempt=1
delay=$FIRST_DELAY
while :; do
  if output=$(az deployment group create \
      --resource-group "$AZURE_RESOURCE_GROUP" \
      --name riskwatch-graph-permissions \
      --template-file infra/graph/graph-permissions.bicep \
      --parameters principalId="$RISKWATCH_IDENTITY_PRINCIPAL_ID" \
                   feeds="${RISKWATCH_GRAPH_FEEDS:-riskDetections,riskyUsers,signIns,directoryAudits,directoryRoles}" \
                   enableRemediation="${RISKWATCH_GRAPH_REMEDIATION:-false}" \
      --output none 2>&1); then
    echo "postprovision: Graph app roles granted (attempt $attempt of $MAX_ATTEMPTS)."
    exit 0
  fi
  printf '%s\n' "$output" >&2
  case "$output" in
    *Authorization_RequestDenied*|*"Insufficient privileges"*)
      # Waiting does not help: the deployer is not allowed to grant app roles.
      echo "postprovision: you may not grant Graph app roles. Set" >&2
      echo "  azd env set RISKWATCH_GRANT_GRAPH_PERMISSIONS false" >&2
      echo "and have a Privileged Role Administrator or Global Administrator run:" >&2
      admin_command >&2
      exit 1
      ;;
  esac
  if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
    echo "postprovision: Graph grant failed $MAX_ATTEMPTS times; rerun 'azd hooks run postprovision'." >&2
    exit 1
  fi
  echo "postprovision: Graph grant attempt $attempt of $MAX_ATTEMPTS failed; retrying in $delay s."
  sleep "$delay"
  attempt=$((attempt + 1))
  delay=$((delay * 2))
done
