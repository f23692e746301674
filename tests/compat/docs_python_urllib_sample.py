# The Defender docs' "Get an access token using Python" sample (api-partner-access /
# api-create-app-web), re-expressed with the same standard-library calls and the same
# request; only the host differs. The three values the docs ask you to paste come from the
# environment, and the host from PALISADE_LOGIN_HOST (the docs use login.windows.net).
import json
import os
import urllib.parse
import urllib.request

tenantId = os.environ["TENANT_ID"]
clientId = os.environ["CLIENT_ID"]
appSecret = os.environ["CLIENT_SECRET"]
host = os.environ.get("PALISADE_LOGIN_HOST", "login.windows.net")

url = "https://%s/%s/oauth2/token" % (host, tenantId)
resourceAppIdUri = "https://api.security.microsoft.com"

body = {
    "resource": resourceAppIdUri,
    "client_id": clientId,
    "client_secret": appSecret,
    "grant_type": "client_credentials",
}
data = urllib.parse.urlencode(body).encode("utf-8")
req = urllib.request.Request(url, data)
response = urllib.request.urlopen(req)
jsonResponse = json.loads(response.read())
aadToken = jsonResponse["access_token"]
print(aadToken)
