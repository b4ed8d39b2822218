// Microsoft Graph application permissions (app-role assignments) for the app's managed
// identity. Deploying this needs an Entra Privileged Role Administrator or Global
// Administrator (it grants tenant-wide read access to risk and sign-in data).
//
// Deployed on its own, never from main.bicep: the azd postprovision hook
// (infra/hooks/postprovision.sh, .ps1) runs it after main.bicep has created the identity and
// retries with backoff, because a grant to a principal created moments before can fail with
// "Not a valid reference update" until Entra has replicated it
// (microsoftgraph/msgraph-bicep-types#193). See infra/README-deploy.md.
//
// Kept in the alias form `extension microsoftGraphV1` (bicepconfig.json): pycep-parser
// 0.7.1 parses it; checkov's pinned pycep-parser 0.5.1 cannot parse any extension
// statement, so tools/check_infra.py leaves this folder out of the checkov scan.
//
// By hand (an administrator, when the deployer may not grant: grantGraphPermissions=false):
//   az deployment group create -g <rg> -n riskwatch-graph-permissions \
//     -f infra/graph/graph-permissions.bicep \
//     -p principalId=<RISKWATCH_IDENTITY_PRINCIPAL_ID> feeds=riskDetections,riskyUsers,signIns,directoryAudits,directoryRoles

extension microsoftGraphV1

@description('Object (principal) id of the managed identity the function app runs as.')
param principalId string

@description('Comma list of enabled feeds (RISKWATCH_FEEDS); each one adds the permission it needs.')
param feeds string

@description('Grant write permissions for remediation. Off by default: detection only reads.')
param enableRemediation bool = false

// Feed -> application permission; mirrors FEED_PERMISSIONS in service/ingest/graph/feeds.py
// (tests/test_infra_graph.py compares them).
var feedPermissions = {
  riskDetections: 'IdentityRiskEvent.Read.All'
  riskyUsers: 'IdentityRiskyUser.Read.All'
  signIns: 'AuditLog.Read.All'
  nonInteractiveSignIns: 'AuditLog.Read.All'
  servicePrincipalSignIns: 'AuditLog.Read.All'
  managedIdentitySignIns: 'AuditLog.Read.All'
  directoryAudits: 'AuditLog.Read.All'
  servicePrincipalRiskDetections: 'IdentityRiskEvent.Read.All'
  directoryRoles: 'RoleManagement.Read.Directory' // least privileged for roleAssignments
}

@description('With enableRemediation: the response actions to allow (comma list of revoke, confirm-compromised, dismiss, disable, enable); each adds only the permission it needs.')
param remediationActions string = 'revoke,confirm-compromised,dismiss'

// Action -> least-privileged application permissions; mirrors ACTION_PERMISSIONS in
// service/response/graph_actions.py (tests/test_infra_graph.py compares them).
var actionPermissions = {
  revoke: ['User.RevokeSessions.All']
  'confirm-compromised': ['IdentityRiskyUser.ReadWrite.All']
  dismiss: ['IdentityRiskyUser.ReadWrite.All']
  disable: ['User.EnableDisableAccount.All', 'User.Read.All'] // not User.ReadWrite.All
  enable: ['User.EnableDisableAccount.All', 'User.Read.All']
}

// Only with enableRemediation=true: the permissions of the chosen actions.
var remediationLists = [for action in split(remediationActions, ','): actionPermissions[trim(action)]]
var remediationPermissions = flatten(remediationLists)

var readPermissions = [for feed in split(feeds, ','): feedPermissions[trim(feed)]]

// union() drops duplicates (several sign-in feeds share AuditLog.Read.All).
var permissions = union(readPermissions, enableRemediation ? remediationPermissions : [])

var microsoftGraphAppId = '00000003-0000-0000-c000-000000000000'

resource graphSp 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: microsoftGraphAppId
}

resource grants 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [
  for permission in permissions: {
    appRoleId: filter(graphSp.appRoles, role => role.value == permission)[0].id
    principalId: principalId
    resourceId: graphSp.id
  }
]

output grantedPermissions array = permissions
