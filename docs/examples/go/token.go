// Fetches the access token of a WeChat app from gatehouse and prints it (standard library only).
//
//	export GATEHOUSE_URL=http://localhost:4236
//	export GATEHOUSE_TOKEN=$(npx gatehouse caller token --sub shop-backend --scope wechat.app.token)
//	go run token.go shop
//
// Unlike the curl, Python and Java examples, this one is not run by gatehouse's test suite (no Go
// toolchain on its machines); it does the same thing, in the same way.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"
)

type envelope struct {
	ReturnCode    int             `json:"returnCode"`
	ReturnMessage string          `json:"returnMessage"`
	ReturnData    json.RawMessage `json:"returnData"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run token.go CODE_NAME")
		os.Exit(2)
	}
	url := os.Getenv("GATEHOUSE_URL")
	if url == "" {
		url = "http://localhost:4236"
	}
	body, err := json.Marshal(map[string]any{
		"interface": map[string]any{"interfaceName": "wechat.app.token", "para": map[string]string{"codeName": os.Args[1]}},
	})
	if err != nil {
		panic(err)
	}
	req, err := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+os.Getenv("GATEHOUSE_TOKEN"))
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot reach gatehouse:", err)
		os.Exit(1)
	}
	defer res.Body.Close()

	var env envelope
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil {
		fmt.Fprintln(os.Stderr, "not a gatehouse answer:", err)
		os.Exit(1)
	}
	if env.ReturnCode != 0 {
		fmt.Fprintf(os.Stderr, "gatehouse refused: %d %s %s\n", env.ReturnCode, env.ReturnMessage, env.ReturnData)
		os.Exit(1)
	}
	var data struct {
		AppID     string `json:"appId"`
		Token     string `json:"token"`
		ExpiresAt int64  `json:"expiresAt"`
	}
	if err := json.Unmarshal(env.ReturnData, &data); err != nil {
		fmt.Fprintln(os.Stderr, "unexpected returnData:", err)
		os.Exit(1)
	}
	fmt.Println(data.Token)
}
