#!/usr/bin/env python3
"""Fetches the access token of a WeChat app from gatehouse and prints it (standard library only).

    export GATEHOUSE_URL=http://localhost:4236
    export GATEHOUSE_TOKEN=$(npx gatehouse caller token --sub shop-backend --scope wechat.app.token)
    python3 token.py shop
"""
import json
import os
import sys
import urllib.request


class GatehouseError(Exception):
    def __init__(self, interface_name, answer):
        super().__init__("gatehouse %s: %s %s %s" % (
            interface_name, answer["returnCode"], answer["returnMessage"], json.dumps(answer["returnData"])))
        self.return_code = answer["returnCode"]
        self.return_data = answer["returnData"]


def rpc(interface_name, para):
    """Calls one interface and returns its returnData; raises GatehouseError on any other answer."""
    body = json.dumps({"interface": {"interfaceName": interface_name, "para": para}}).encode()
    request = urllib.request.Request(
        os.environ.get("GATEHOUSE_URL", "http://localhost:4236") + "/",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": "Bearer " + os.environ["GATEHOUSE_TOKEN"]},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # gatehouse answers HTTP 200
        answer = json.load(response)
    if answer["returnCode"] != 0:
        raise GatehouseError(interface_name, answer)
    return answer["returnData"]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: token.py CODE_NAME")
    try:
        print(rpc("wechat.app.token", {"codeName": sys.argv[1]})["token"])
    except GatehouseError as e:
        sys.exit(str(e))
