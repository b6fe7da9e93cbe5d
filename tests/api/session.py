"""Signs in to a Pronto server and prints the session cookie (`pronto_sesion=…`).

usage: session.py BASE_URL USER PASSWORD
"""
import json
import sys
import urllib.request

base, user, password = sys.argv[1:4]
request = urllib.request.Request(
    f"{base}/api/auth/login",
    data=json.dumps({"usuario": user, "contrasena": password}).encode(),
    headers={"Content-Type": "application/json"},
    method="POST",
)
with urllib.request.urlopen(request, timeout=30) as response:
    for header in response.headers.get_all("Set-Cookie") or []:
        first = header.split(";", 1)[0]
        if first.startswith("pronto_sesion="):
            print(first)
            sys.exit(0)
sys.exit(f"{user}: no session cookie in the answer")
