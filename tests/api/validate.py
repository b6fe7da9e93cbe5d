"""Checks that an OpenAPI document (a URL) is a valid OpenAPI 3.1 description.

usage: validate.py URL
"""
import json
import sys
import urllib.request

from openapi_spec_validator import validate

with urllib.request.urlopen(sys.argv[1], timeout=30) as response:
    document = json.load(response)
if document.get("openapi", "").split(".")[:2] != ["3", "1"]:
    sys.exit(f"not OpenAPI 3.1: {document.get('openapi')}")
validate(document)
operations = sum(len(item) for item in document["paths"].values())
print(f"valid OpenAPI {document['openapi']}: {len(document['paths'])} paths, {operations} operations")
