"""Unmodified msgraph-sdk (Python) against Palisade with a client-secret credential
(azure-identity) and only the base URL changed: incidents with $filter, $count and
$expand=alerts, paging by @odata.nextLink, PATCH, alert comments, runHuntingQuery, and an
application and its password created through /v1.0/applications. Then the Graph docs' own
request examples for each method, sent as written (host changed) and checked against the
documented response shapes."""

import asyncio
import json

import httpx
import pytest
import requests
from azure.identity import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.applications.item.add_password.add_password_post_request_body import AddPasswordPostRequestBody
from msgraph.generated.models.application import Application
from msgraph.generated.models.password_credential import PasswordCredential
from msgraph.generated.models.security.alert_comment import AlertComment
from msgraph.generated.models.security.alert_status import AlertStatus
from msgraph.generated.models.security.incident import Incident
from msgraph.generated.models.security.incident_status import IncidentStatus
from msgraph.generated.security.incidents.incidents_request_builder import IncidentsRequestBuilder
from msgraph.generated.security.microsoft_graph_security_run_hunting_query.run_hunting_query_post_request_body import (
    RunHuntingQueryPostRequestBody,
)
from msgraph_core import GraphClientFactory

from conftest import run_cli

GRAPH_ROLES = [
    "SecurityIncident.ReadWrite.All",
    "SecurityAlert.ReadWrite.All",
    "ThreatHunting.Read.All",
    "Application.ReadWrite.All",
]


@pytest.fixture(scope="module")
def graph(server):
    """The demo tenant's app, granted Graph roles through the CLI (`--resource "Microsoft Graph"`)."""
    demo = server["demo"]
    out = run_cli(server, "--tenant", demo["tenant_id"], "grant", demo["client_id"], "--resource", "Microsoft Graph", *GRAPH_ROLES)
    assert out["resourceAppId"] == "00000003-0000-0000-c000-000000000000", out
    return demo


def sdk_client(server, demo):
    credential = ClientSecretCredential(
        demo["tenant_id"], demo["client_id"], demo["client_secret"],
        authority=f"https://localhost:{server['port']}", connection_verify=server["ca"], disable_instance_discovery=True,
    )
    auth = AzureIdentityAuthenticationProvider(credential, scopes=["https://graph.microsoft.com/.default"], allowed_hosts=["localhost"])
    http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(verify=server["ca"], timeout=60))
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = f"https://localhost:{server['port']}/v1.0"
    return GraphServiceClient(request_adapter=adapter)


def test_msgraph_sdk_end_to_end(server, graph):
    async def scenario():
        client = sdk_client(server, graph)
        # $filter + $count + $top, then every page by @odata.nextLink.
        q = IncidentsRequestBuilder.IncidentsRequestBuilderGetQueryParameters(
            filter="severity eq 'high' or severity eq 'medium'", count=True, top=7)
        page = await client.security.incidents.get(RequestConfiguration(query_parameters=q))
        total = page.odata_count
        assert total and total > 7
        seen = [i.id for i in page.value]
        assert all(i.severity.value in ("high", "medium") for i in page.value)
        while page.odata_next_link:
            page = await client.security.incidents.with_url(page.odata_next_link).get()
            seen += [i.id for i in page.value]
        assert len(seen) == total == len(set(seen))

        # $expand=alerts: alerts with typed evidence.
        q = IncidentsRequestBuilder.IncidentsRequestBuilderGetQueryParameters(expand=["alerts"], top=3)
        expanded = await client.security.incidents.get(RequestConfiguration(query_parameters=q))
        incident = expanded.value[0]
        assert incident.alerts and incident.alerts[0].incident_id == incident.id
        assert incident.alerts[0].evidence, "evidence deserialized into typed objects"
        types = {type(e).__name__ for a in incident.alerts for e in a.evidence}
        assert types & {"DeviceEvidence", "UserEvidence", "FileEvidence", "ProcessEvidence", "IpEvidence", "UrlEvidence", "MailboxEvidence"}, types

        # PATCH an incident.
        patched = await client.security.incidents.by_incident_id(incident.id).patch(
            Incident(status=IncidentStatus.InProgress, assigned_to="sdk@palisade.test", custom_tags=["msgraph-sdk"]))
        assert patched.status == IncidentStatus.InProgress
        assert patched.custom_tags == ["msgraph-sdk"]
        again = await client.security.incidents.by_incident_id(incident.id).get()
        assert again.assigned_to == "sdk@palisade.test"

        # An alert: PATCH and a comment (the SDK posts a JSON array).
        alert_id = incident.alerts[0].id
        alert = await client.security.alerts_v2.by_alert_id(alert_id).patch(
            __import__("msgraph.generated.models.security.alert", fromlist=["Alert"]).Alert(status=AlertStatus.Resolved))
        assert alert.status == AlertStatus.Resolved
        # The SDK's quirk, pinned: it posts a JSON array and reads the answer as a bare JSON
        # array (kiota's send_collection_async), but the service answers the comment list
        # in {"@odata.context", "value": [...]} (a recorded real response, graph.md §2.5),
        # which kiota's JSON parse node turns into an empty list. So the SDK returns [];
        # the comment is there when the alert is read back.
        returned = await client.security.alerts_v2.by_alert_id(alert_id).comments.post(
            [AlertComment(comment="from msgraph-sdk")])
        assert returned == [], returned
        back = await client.security.alerts_v2.by_alert_id(alert_id).get()
        assert back.comments[-1].comment == "from msgraph-sdk"
        assert back.status == AlertStatus.Resolved

        # Hunting through the namespaced path the SDK calls.
        result = await client.security.microsoft_graph_security_run_hunting_query.post(
            RunHuntingQueryPostRequestBody(query="DeviceProcessEvents | summarize n = count() by DeviceName | top 3 by n", timespan="P7D"))
        assert [c.name for c in result.schema] == ["DeviceName", "n"]
        assert result.schema[1].type == "Int64"
        assert 0 < len(result.results) <= 3
        assert "DeviceName" in result.results[0].additional_data

        # The directory: an application and a password.
        app = await client.applications.post(Application(display_name="made by msgraph-sdk"))
        assert app.id and app.app_id
        cred = await client.applications.by_application_id(app.id).add_password.post(
            AddPasswordPostRequestBody(password_credential=PasswordCredential(display_name="sdk secret")))
        assert cred.secret_text and cred.key_id and cred.display_name == "sdk secret"
        return app.app_id, cred.secret_text

    app_id, secret = asyncio.run(scenario())
    # The new secret works at the token endpoint.
    r = requests.post(f"{server['base']}/{graph['tenant_id']}/oauth2/v2.0/token", verify=server["ca"], timeout=30, data={
        "grant_type": "client_credentials", "client_id": app_id, "client_secret": secret,
        "scope": "https://graph.microsoft.com/.default"})
    assert r.status_code == 200, r.text


# ----- the Graph docs' request examples, host changed -----------------------------------------


def token(server, demo):
    r = requests.post(f"{server['base']}/{demo['tenant_id']}/oauth2/v2.0/token", verify=server["ca"], timeout=30, data={
        "grant_type": "client_credentials", "client_id": demo["client_id"], "client_secret": demo["client_secret"],
        "scope": "https://graph.microsoft.com/.default"})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def call(server, bearer, method, path, body=None):
    r = requests.request(method, f"{server['base']}{path}", verify=server["ca"], timeout=60,
                         headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
                         data=None if body is None else json.dumps(body))
    assert r.headers["request-id"], r.headers
    return r


# Response keys of the docs' examples (security-incident-get, security-alert-get; CSDL names).
INCIDENT_KEYS = {"id", "incidentWebUrl", "redirectIncidentId", "displayName", "tenantId", "createdDateTime", "lastUpdateDateTime",
                 "assignedTo", "classification", "determination", "status", "severity", "customTags", "comments", "systemTags",
                 "description", "summary", "lastModifiedBy", "resolvingComment"}
ALERT_KEYS = {"id", "providerAlertId", "incidentId", "status", "severity", "classification", "determination", "serviceSource",
              "detectionSource", "detectorId", "tenantId", "title", "description", "recommendedActions", "category", "assignedTo",
              "alertWebUrl", "incidentWebUrl", "actorDisplayName", "threatDisplayName", "threatFamilyName", "mitreTechniques",
              "createdDateTime", "lastUpdateDateTime", "resolvedDateTime", "firstActivityDateTime", "lastActivityDateTime",
              "comments", "evidence"}


def test_graph_docs_examples(server, graph):
    t = token(server, graph)
    # List incidents (security-list-incidents): GET /security/incidents, and with ?$count=true.
    r = call(server, t, "GET", "/v1.0/security/incidents")
    assert r.status_code == 200 and r.json()["@odata.context"].endswith("$metadata#security/incidents")
    r = call(server, t, "GET", "/v1.0/security/incidents?$count=true")
    assert r.json()["@odata.count"] >= len(r.json()["value"])
    first = r.json()["value"][0]
    assert INCIDENT_KEYS <= set(first), INCIDENT_KEYS - set(first)
    # …with $filter, $top and $expand=alerts as the docs write them.
    r = call(server, t, "GET", "/v1.0/security/incidents?$filter=status eq 'active'&$top=10")
    assert r.status_code == 200 and all(i["status"] == "active" for i in r.json()["value"])
    r = call(server, t, "GET", "/v1.0/security/incidents?$expand=alerts")
    assert r.json()["@odata.context"].endswith("#security/incidents(alerts())")
    # Get incident (security-incident-get).
    inc_id = first["id"]
    r = call(server, t, "GET", f"/v1.0/security/incidents/{inc_id}")
    assert r.json()["@odata.context"].endswith("#security/incidents/$entity") and r.json()["id"] == inc_id
    # Update incident (security-incident-update): the docs' body, PascalCase as printed.
    r = call(server, t, "PATCH", f"/v1.0/security/incidents/{inc_id}",
             {"classification": "TruePositive", "determination": "MultiStagedAttack", "customTags": ["Demo"]})
    assert r.status_code == 200, r.text
    assert (r.json()["classification"], r.json()["determination"], r.json()["customTags"]) == ("truePositive", "multiStagedAttack", ["Demo"])
    # Create comment for incident (security-incident-post-comments).
    r = call(server, t, "POST", f"/v1.0/security/incidents/{inc_id}/comments",
             {"@odata.type": "microsoft.graph.security.alertComment", "comment": "Demo for docs"})
    assert r.status_code == 200, r.text
    assert r.json()["@odata.context"].endswith(f"#security/incidents('{inc_id}')/comments")
    assert r.json()["value"][-1]["comment"] == "Demo for docs"
    assert set(r.json()["value"][-1]) == {"comment", "createdByDisplayName", "createdDateTime"}
    # List alerts_v2, get one, update it (security-alert-update), comment on it.
    r = call(server, t, "GET", "/v1.0/security/alerts_v2")
    alert = r.json()["value"][0]
    assert ALERT_KEYS <= set(alert), ALERT_KEYS - set(alert)
    assert all(e["@odata.type"].startswith("#microsoft.graph.security.") for e in alert["evidence"])
    r = call(server, t, "GET", f"/v1.0/security/alerts_v2/{alert['id']}")
    assert r.json()["@odata.context"].endswith("#security/alerts_v2/$entity")
    r = call(server, t, "PATCH", f"/v1.0/security/alerts_v2/{alert['id']}",
             {"assignedTo": "secAdmin@contoso.onmicrosoft.com", "classification": "truePositive", "determination": "malware", "status": "inProgress"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["determination"]) == ("inProgress", "malware")
    r = call(server, t, "POST", f"/v1.0/security/alerts_v2/{alert['id']}/comments",
             {"@odata.type": "microsoft.graph.security.alertComment", "comment": "Demo for docs"})
    assert r.status_code == 200 and r.json()["value"][-1]["comment"] == "Demo for docs"
    # runHuntingQuery (security-security-runhuntingquery): the docs' body.
    r = call(server, t, "POST", "/v1.0/security/runHuntingQuery", {"Query": "DeviceProcessEvents | where InitiatingProcessFileName =~ \"powershell.exe\" | project Timestamp, FileName, InitiatingProcessFileName | order by Timestamp desc | limit 2"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["@odata.context"].endswith("#microsoft.graph.security.huntingQueryResults")
    assert [c["name"] for c in body["schema"]] == ["Timestamp", "FileName", "InitiatingProcessFileName"]
    assert body["schema"][0]["type"] == "DateTime" and len(body["results"]) <= 2
    # getRunHuntingQuery (beta): the docs' example URL.
    r = call(server, t, "GET", "/beta/security/getRunHuntingQuery(query='AlertInfo%20%7C%20take%202',timespan='P1D')")
    assert r.status_code == 200, r.text
    assert r.json()["@odata.context"].endswith("/beta/$metadata#microsoft.graph.security.huntingQueryResults")
    # Errors in Graph's envelope (errors concept page): a missing token.
    r = requests.get(f"{server['base']}/v1.0/security/incidents", verify=server["ca"], timeout=30)
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["code"] == "InvalidAuthenticationToken" and set(err["innerError"]) == {"date", "request-id", "client-request-id"}
    # Create application + addPassword (application-post-applications, application-addpassword).
    r = call(server, t, "POST", "/v1.0/applications", {"displayName": "Display name"})
    assert r.status_code == 201, r.text
    app = r.json()
    r = call(server, t, "POST", f"/v1.0/applications/{app['id']}/addPassword", {"passwordCredential": {"displayName": "Password friendly name"}})
    assert r.status_code == 200, r.text
    assert {"customKeyIdentifier", "endDateTime", "keyId", "startDateTime", "secretText", "hint", "displayName"} <= set(r.json())
    r = call(server, t, "POST", f"/v1.0/applications/{app['id']}/removePassword", {"keyId": r.json()["keyId"]})
    assert r.status_code == 204
