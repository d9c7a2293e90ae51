package views

import (
	"strings"
	"time"
)

// TestTokenPanel is the Details page's Test panel: empty until an admin
// asks for a test token.
type TestTokenPanel struct {
	ClientID string
	Token    *TestToken
	Error    string // why no token could be issued
}

// TestToken is a test token as a resource server sees it.
type TestToken struct {
	Raw      string
	Header   string // decoded and indented JSON
	Claims   string
	Scopes   []string
	Expiry   time.Time
	Audience string
}

// Example is one way to request a token, in one language.
type Example struct {
	ID, Label, Code string
}

// Examples are the token request in curl, Python (requests) and Go
// (golang.org/x/oauth2/clientcredentials), each runnable as written once
// CLIENT_SECRET is set (see ExportLine).
func Examples(d ApplicationDetails) []Example {
	return []Example{
		{ID: "curl", Label: "curl", Code: curlExample(d)},
		{ID: "python", Label: "Python", Code: pythonExample(d)},
		{ID: "go", Label: "Go", Code: goExample(d)},
	}
}

// ExportPlaceholder is the line that sets CLIENT_SECRET, as the page shows
// it: the secret itself comes only through the Copy button, in its window.
const ExportPlaceholder = "export CLIENT_SECRET='…'"

func curlExample(d ApplicationDetails) string {
	var b strings.Builder
	if d.ScopeExample != "" {
		b.WriteString("# Gets every scope of the application. For fewer, add e.g.\n")
		b.WriteString("#   --data-urlencode 'scope=" + d.ScopeExample + "'\n")
	}
	b.WriteString("curl " + d.TokenURL + " \\\n")
	b.WriteString("  -u \"" + d.ClientID + ":$CLIENT_SECRET\" \\\n")
	b.WriteString("  -d grant_type=client_credentials")
	return b.String()
}

func pythonExample(d ApplicationDetails) string {
	var b strings.Builder
	b.WriteString("# pip install requests\n")
	b.WriteString("import os\n\nimport requests\n\n")
	b.WriteString("response = requests.post(\n")
	b.WriteString("    \"" + d.TokenURL + "\",\n")
	b.WriteString("    auth=(\"" + d.ClientID + "\", os.environ[\"CLIENT_SECRET\"]),\n")
	b.WriteString("    data={\"grant_type\": \"client_credentials\"},\n")
	if d.ScopeExample != "" {
		b.WriteString("    # Every scope of the application; for fewer, add \"scope\": \"" + d.ScopeExample + "\"\n")
	}
	b.WriteString("    timeout=10,\n)\n")
	b.WriteString("response.raise_for_status()\n")
	b.WriteString("token = response.json()\n")
	b.WriteString("print(token[\"access_token\"], \"expires in\", token[\"expires_in\"], \"seconds\")")
	return b.String()
}

func goExample(d ApplicationDetails) string {
	var b strings.Builder
	b.WriteString("package main\n\n")
	b.WriteString("import (\n\t\"context\"\n\t\"fmt\"\n\t\"log\"\n\t\"os\"\n\n\t\"golang.org/x/oauth2/clientcredentials\"\n)\n\n")
	b.WriteString("func main() {\n")
	b.WriteString("\tconfig := clientcredentials.Config{\n")
	b.WriteString("\t\tClientID:     \"" + d.ClientID + "\",\n")
	b.WriteString("\t\tClientSecret: os.Getenv(\"CLIENT_SECRET\"),\n")
	b.WriteString("\t\tTokenURL:     \"" + d.TokenURL + "\",\n")
	if d.ScopeExample != "" {
		b.WriteString("\t\t// Every scope of the application; for fewer, e.g.\n")
		b.WriteString("\t\t// Scopes: []string{\"" + d.ScopeExample + "\"},\n")
	}
	b.WriteString("\t}\n")
	b.WriteString("\t// config.Client(ctx) is an *http.Client that adds the token and renews it.\n")
	b.WriteString("\ttoken, err := config.Token(context.Background())\n")
	b.WriteString("\tif err != nil {\n\t\tlog.Fatal(err)\n\t}\n")
	b.WriteString("\tfmt.Println(token.AccessToken, \"expires\", token.Expiry)\n")
	b.WriteString("}")
	return b.String()
}
