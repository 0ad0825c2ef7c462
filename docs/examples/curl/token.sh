#!/bin/sh
# Fetches the access token of a WeChat app (official account or mini program) from gatehouse and
# prints it. Needs sh, curl and sed.
#
#   export GATEHOUSE_URL=http://localhost:4236
#   export GATEHOUSE_TOKEN=$(npx gatehouse caller token --sub shop-backend --scope wechat.app.token)
#   sh token.sh shop
set -eu
code_name=${1:?usage: token.sh CODE_NAME}
# a codeName is letters, digits and _.:@- only, so it can go into the JSON as it is
answer=$(curl -sS -X POST "${GATEHOUSE_URL:-http://localhost:4236}/" \
  -H "Authorization: Bearer ${GATEHOUSE_TOKEN:?set GATEHOUSE_TOKEN to a caller token}" \
  -H 'Content-Type: application/json' \
  -d "{\"interface\":{\"interfaceName\":\"wechat.app.token\",\"para\":{\"codeName\":\"$code_name\"}}}")
case $answer in
  '{"returnCode":0,'*) ;;
  *) echo "gatehouse refused: $answer" >&2; exit 1 ;;
esac
# returnData is {"appId":…,"token":…,"expiresAt":…}; a token has no quotes or backslashes in it
printf '%s\n' "$answer" | sed -n 's/.*"token":"\([^"\\]*\)".*/\1/p'
