package handlers

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"tokenservice"
	"tokenservice/scope"
)

const (
	testClientID = "abcdefghijklmnopqrstuvwxyz"
	testSecret   = "tss_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg123456"
	formType     = "application/x-www-form-urlencoded"
)

// basicAuth is an Authorization header as RFC 6749 §2.3.1 builds it: the
// client ID and secret form-urlencoded, joined with ':', base64-encoded.
func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// rawBasic is an Authorization header of exactly the bytes given.
func rawBasic(creds string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(creds))
}

// validDescription reports whether s is an error_description RFC 6749 §5.2
// allows: %x20-21 / %x23-5B / %x5D-7E.
func validDescription(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x22 || c == 0x5c || c > 0x7e {
			return false
		}
	}
	return true
}

func TestParseClientRequest(t *testing.T) {
	grant := "grant_type=client_credentials"
	post := grant + "&client_id=" + testClientID + "&client_secret=" + testSecret
	for _, tt := range []struct {
		name        string
		contentType string
		auth        string
		query       string
		body        string

		wantErr    string // error code; "" for success
		wantStatus int
		wantID     string
		wantSecret string
		wantMethod string
		wantForm   url.Values
	}{
		{name: "ClientSecretPost", contentType: formType, body: post + "&scope=ess:account:read",
			wantID: testClientID, wantSecret: testSecret, wantMethod: authPost,
			wantForm: url.Values{"grant_type": {"client_credentials"}, "scope": {"ess:account:read"}}},
		{name: "ClientSecretBasic", contentType: formType, auth: basicAuth(testClientID, testSecret), body: grant,
			wantID: testClientID, wantSecret: testSecret, wantMethod: authBasic,
			wantForm: url.Values{"grant_type": {"client_credentials"}}},
		{name: "BasicSchemeCaseInsensitive", contentType: formType, auth: "bAsIc " + strings.TrimPrefix(basicAuth(testClientID, testSecret), "Basic "), body: grant,
			wantID: testClientID, wantSecret: testSecret, wantMethod: authBasic,
			wantForm: url.Values{"grant_type": {"client_credentials"}}},
		{name: "BasicWithMatchingClientIDInBody", contentType: formType, auth: basicAuth(testClientID, testSecret), body: grant + "&client_id=" + testClientID,
			wantID: testClientID, wantSecret: testSecret, wantMethod: authBasic,
			wantForm: url.Values{"grant_type": {"client_credentials"}}},
		{name: "BasicWithEmptyClientSecretInBody", contentType: formType, auth: basicAuth(testClientID, testSecret), body: grant + "&client_secret=",
			// RFC 6749 §3.2: a parameter sent without a value is treated as omitted.
			wantID: testClientID, wantSecret: testSecret, wantMethod: authBasic,
			wantForm: url.Values{"grant_type": {"client_credentials"}}},
		{name: "CharsetUTF8", contentType: formType + "; charset=UTF-8", body: post,
			wantID: testClientID, wantSecret: testSecret, wantMethod: authPost,
			wantForm: url.Values{"grant_type": {"client_credentials"}}},
		{name: "MediaTypeCaseInsensitive", contentType: "Application/X-WWW-Form-URLEncoded", body: post,
			wantID: testClientID, wantSecret: testSecret, wantMethod: authPost,
			wantForm: url.Values{"grant_type": {"client_credentials"}}},
		{name: "UnknownParameterKept", contentType: formType, body: post + "&resource=https%3A%2F%2Fapi.example.com",
			wantID: testClientID, wantSecret: testSecret, wantMethod: authPost,
			wantForm: url.Values{"grant_type": {"client_credentials"}, "resource": {"https://api.example.com"}}},
		{name: "EmptyParameterOmitted", contentType: formType, body: post + "&scope=",
			wantID: testClientID, wantSecret: testSecret, wantMethod: authPost,
			wantForm: url.Values{"grant_type": {"client_credentials"}}},

		{name: "ContentTypeJSON", contentType: "application/json", body: `{"grant_type":"client_credentials"}`, auth: basicAuth(testClientID, testSecret),
			wantErr: "invalid_request", wantStatus: http.StatusBadRequest},
		{name: "ContentTypeMultipart", contentType: "multipart/form-data; boundary=x", body: "--x--", auth: basicAuth(testClientID, testSecret),
			wantErr: "invalid_request", wantStatus: http.StatusBadRequest},
		{name: "ContentTypeMissing", body: post, wantErr: "invalid_request", wantStatus: http.StatusBadRequest},
		{name: "ContentTypeMalformed", contentType: "application/x-www-form-urlencoded; charset", body: post,
			wantErr: "invalid_request", wantStatus: http.StatusBadRequest},
		{name: "CharsetLatin1", contentType: formType + "; charset=ISO-8859-1", body: post,
			wantErr: "invalid_request", wantStatus: http.StatusBadRequest},
		{name: "QueryString", contentType: formType, query: "client_secret=" + testSecret, body: post,
			wantErr: "invalid_request", wantStatus: http.StatusBadRequest},
		{name: "BadFormEncoding", contentType: formType, body: post + "&scope=%zz",
			wantErr: "invalid_request", wantStatus: http.StatusBadRequest},
		{name: "SemicolonSeparator", contentType: formType, body: post + ";scope=x",
			wantErr: "invalid_request", wantStatus: http.StatusBadRequest},
		{name: "DuplicateGrantType", contentType: formType, body: post + "&" + grant,
			wantErr: "invalid_request", wantStatus: http.StatusBadRequest},
		{name: "DuplicateClientSecret", contentType: formType, body: post + "&client_secret=" + testSecret,
			wantErr: "invalid_request", wantStatus: http.StatusBadRequest},
		{name: "BasicAndClientSecretInBody", contentType: formType, auth: basicAuth(testClientID, testSecret), body: post,
			wantErr: "invalid_request", wantStatus: http.StatusBadRequest},
		{name: "BasicWithOtherClientIDInBody", contentType: formType, auth: basicAuth(testClientID, testSecret), body: grant + "&client_id=bbbbbbbbbbbbbbbbbbbbbbbbbb",
			wantErr: "invalid_request", wantStatus: http.StatusBadRequest},
		{name: "NoAuthentication", contentType: formType, body: grant,
			wantErr: "invalid_client", wantStatus: http.StatusUnauthorized},
		{name: "PostWithoutClientID", contentType: formType, body: grant + "&client_secret=" + testSecret,
			wantErr: "invalid_client", wantStatus: http.StatusUnauthorized},
		{name: "PostWithoutClientSecret", contentType: formType, body: grant + "&client_id=" + testClientID,
			wantErr: "invalid_client", wantStatus: http.StatusUnauthorized},
		{name: "PostWithEmptyClientSecret", contentType: formType, body: grant + "&client_id=" + testClientID + "&client_secret=",
			wantErr: "invalid_client", wantStatus: http.StatusUnauthorized},
		{name: "BearerScheme", contentType: formType, auth: "Bearer abc", body: grant,
			wantErr: "invalid_client", wantStatus: http.StatusUnauthorized},
		{name: "DigestScheme", contentType: formType, auth: `Digest username="x"`, body: grant,
			wantErr: "invalid_client", wantStatus: http.StatusUnauthorized},
		{name: "BasicBadBase64", contentType: formType, auth: "Basic !!!not-base64", body: grant,
			wantErr: "invalid_request", wantStatus: http.StatusBadRequest},
		{name: "BasicNoColon", contentType: formType, auth: rawBasic(testClientID), body: grant,
			wantErr: "invalid_request", wantStatus: http.StatusBadRequest},
		{name: "BasicEmptyClientID", contentType: formType, auth: rawBasic(":" + testSecret), body: grant,
			wantErr: "invalid_client", wantStatus: http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := parseClientRequest(tt.contentType, tt.auth, tt.query, []byte(tt.body))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("parsed as %+v, want error %s", req, tt.wantErr)
				}
				if got, want := err.Code, tt.wantErr; got != want {
					t.Errorf("error = %q (%s), want %q", got, err.Description, want)
				}
				if got, want := err.Status, tt.wantStatus; got != want {
					t.Errorf("status = %d, want %d", got, want)
				}
				if err.Description == "" || !validDescription(err.Description) {
					t.Errorf("error_description %q is empty or has characters RFC 6749 §5.2 does not allow", err.Description)
				}
				if strings.Contains(err.Description, testSecret) {
					t.Errorf("error_description %q repeats the secret", err.Description)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %s: %s", err.Code, err.Description)
			}
			if got, want := req.ClientID, tt.wantID; got != want {
				t.Errorf("ClientID = %q, want %q", got, want)
			}
			if got, want := req.ClientSecret, tt.wantSecret; got != want {
				t.Errorf("ClientSecret = %q, want %q", got, want)
			}
			if got, want := req.AuthMethod, tt.wantMethod; got != want {
				t.Errorf("AuthMethod = %q, want %q", got, want)
			}
			if got, want := req.Form.Encode(), tt.wantForm.Encode(); got != want {
				t.Errorf("Form = %q, want %q", got, want)
			}
		})
	}
}

func TestParseBasic(t *testing.T) {
	enc := base64.StdEncoding.EncodeToString
	for _, tt := range []struct {
		name       string
		creds      string // after "Basic "
		wantID     string
		wantSecret string
		wantErr    string
	}{
		{name: "Plain", creds: enc([]byte(testClientID + ":" + testSecret)), wantID: testClientID, wantSecret: testSecret},
		{name: "FormEncodedAsXOAuth2Sends", creds: enc([]byte(url.QueryEscape(testClientID) + ":" + url.QueryEscape(testSecret))),
			wantID: testClientID, wantSecret: testSecret},
		{name: "ColonPercentPlusSpace", creds: enc([]byte(url.QueryEscape("my:client id") + ":" + url.QueryEscape("s:e%c+r et"))),
			wantID: "my:client id", wantSecret: "s:e%c+r et"},
		{name: "EveryBytePercentEncoded", creds: enc([]byte(percentEncodeAll("id:1") + ":" + percentEncodeAll(testSecret))),
			wantID: "id:1", wantSecret: testSecret},
		{name: "PlusIsSpace", creds: enc([]byte("a+b:c+d")), wantID: "a b", wantSecret: "c d"},
		{name: "ColonInSecretUnencoded", creds: enc([]byte("id:se:cret")), wantID: "id", wantSecret: "se:cret"},
		{name: "EmptySecret", creds: enc([]byte("id:")), wantID: "id", wantSecret: ""},
		{name: "NonASCIIPercentEncoded", creds: enc([]byte(url.QueryEscape("ünï") + ":" + url.QueryEscape("çødé"))), wantID: "ünï", wantSecret: "çødé"},

		{name: "BadBase64", creds: "%%%", wantErr: "invalid_request"},
		{name: "URLSafeBase64", creds: base64.URLEncoding.EncodeToString([]byte("\xfb\xff:x")), wantErr: "invalid_request"},
		{name: "Empty", creds: "", wantErr: "invalid_request"},
		{name: "NoColon", creds: enc([]byte("idsecret")), wantErr: "invalid_request"},
		{name: "BadPercentInID", creds: enc([]byte("i%zzd:secret")), wantErr: "invalid_request"},
		{name: "BadPercentInSecret", creds: enc([]byte("id:sec%4")), wantErr: "invalid_request"},
		{name: "EmptyClientID", creds: enc([]byte(":secret")), wantErr: "invalid_client"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id, secret, err := parseBasic(tt.creds)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("parsed as %q, %q; want error %s", id, secret, tt.wantErr)
				}
				if got, want := err.Code, tt.wantErr; got != want {
					t.Errorf("error = %q, want %q", got, want)
				}
				if !validDescription(err.Description) {
					t.Errorf("error_description %q has characters RFC 6749 §5.2 does not allow", err.Description)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %s: %s", err.Code, err.Description)
			}
			if got, want := id, tt.wantID; got != want {
				t.Errorf("client ID = %q, want %q", got, want)
			}
			if got, want := secret, tt.wantSecret; got != want {
				t.Errorf("client secret = %q, want %q", got, want)
			}
		})
	}
}

// percentEncodeAll percent-encodes every byte of s, which RFC 6749 §2.3.1's
// form-urlencoding allows a client to do.
func percentEncodeAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

func FuzzParseClientRequest(f *testing.F) {
	grant := "grant_type=client_credentials"
	for _, s := range []struct{ contentType, auth, query, body string }{
		{formType, "", "", grant + "&client_id=" + testClientID + "&client_secret=" + testSecret},
		{formType, "", "", grant + "&client_id=" + testClientID + "&client_secret=" + testSecret + "&scope=forensics%3Aaccount%3Aread+ess%3Aaccount%3Aread"},
		{formType + ";charset=UTF-8", basicAuth(testClientID, testSecret), "", grant + "&scope=forensics:account:write"},
		{formType, basicAuth(testClientID, testSecret), "", grant + "&client_id=" + testClientID},
		{formType, basicAuth("my:client id", "p%ss+w:rd"), "", grant},
		{formType, rawBasic(percentEncodeAll(testClientID) + ":" + percentEncodeAll(testSecret)), "", grant},
		{formType, basicAuth(testClientID, testSecret), "", "token=eyJhbGciOiJFUzI1NiJ9.e30.sig&token_type_hint=access_token"},
		{formType, basicAuth(testClientID, testSecret), "", grant + "&client_secret=" + testSecret},
		{formType, basicAuth(testClientID, testSecret), "grant_type=client_credentials", ""},
		{formType, "Bearer eyJ", "", grant},
		{formType, "Basic", "", grant},
		{formType, "Basic Og==", "", grant},
		{formType, "", "", grant + "&" + grant},
		{formType, "", "", "client_id=&client_secret=&grant_type="},
		{"application/json", "", "", `{"grant_type":"client_credentials"}`},
		{"multipart/form-data; boundary=x", "", "", "--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--x--"},
		{"", "", "", ""},
	} {
		f.Add(s.contentType, s.auth, s.query, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, contentType, auth, query string, body []byte) {
		req, err := parseClientRequest(contentType, auth, query, body)
		if (req == nil) == (err == nil) {
			t.Fatalf("request %v and error %v: want exactly one", req, err)
		}
		if err != nil {
			switch {
			case err.Code == "invalid_request" && err.Status == http.StatusBadRequest:
			case err.Code == "invalid_client" && err.Status == http.StatusUnauthorized:
			default:
				t.Fatalf("error %q with status %d", err.Code, err.Status)
			}
			if err.Description == "" || !validDescription(err.Description) {
				t.Fatalf("error_description %q is empty or has characters RFC 6749 §5.2 does not allow", err.Description)
			}
			return
		}
		if req.ClientID == "" {
			t.Fatal("success without a client ID")
		}
		switch req.AuthMethod {
		case authBasic:
			if auth == "" {
				t.Fatal("client_secret_basic without an Authorization header")
			}
		case authPost:
			if auth != "" {
				t.Fatal("client_secret_post with an Authorization header")
			}
			sent, _ := url.ParseQuery(string(body))
			if sent.Get("client_id") != req.ClientID || sent.Get("client_secret") != req.ClientSecret {
				t.Fatalf("credentials %q, %q are not the ones in the body", req.ClientID, req.ClientSecret)
			}
		default:
			t.Fatalf("AuthMethod = %q", req.AuthMethod)
		}
		if query != "" {
			t.Fatalf("accepted parameters in the query string %q", query)
		}
		for name, values := range req.Form {
			if len(values) != 1 {
				t.Fatalf("parameter %q has %d values", name, len(values))
			}
		}
		if _, ok := req.Form["client_secret"]; ok {
			t.Fatal("Form keeps client_secret")
		}
		if _, ok := req.Form["client_id"]; ok {
			t.Fatal("Form keeps client_id")
		}
	})
}

func FuzzGrantedScopes(f *testing.F) {
	// levels holds one byte per entry of the default catalogue: its access,
	// modulo 3, none, read or read-write (where the entry offers it).
	for _, s := range []struct {
		levels    string
		requested string
	}{
		{"\x02\x01", ""},
		{"\x01\x02\x00\x01\x02", "forensics:account:write"},
		{"\x01\x02", "ess:account:read  forensics:account:read ess:account:read"},
		{"\x00\x01", "forensics:account:write"},
		{"\x01", "nope:nope:read"},
		{"\x01", "\"\\\x00\u00e9"},
		{"", ""},
		{"", "ess:account:read"},
		{"\x01", "   "},
		{"\x01\x01", "ess:account:read\tforensics:account:read"},
	} {
		f.Add([]byte(s.levels), s.requested)
	}
	catalogue := scope.Default()
	f.Fuzz(func(t *testing.T, levels []byte, requested string) {
		client := &tokenservice.Client{ClientID: testClientID, AccountID: "acme"}
		for i, e := range catalogue.Entries {
			if i >= len(levels) {
				break
			}
			access := []tokenservice.Access{tokenservice.AccessNone, tokenservice.AccessRead, tokenservice.AccessReadWrite}[levels[i]%3]
			if access != tokenservice.AccessNone && e.Offers(access) {
				client.Scopes = append(client.Scopes, tokenservice.ScopeGrant{Key: e.Key, Access: access})
			}
		}
		all := client.OAuthScopes()
		got, err := grantedScopes(client, requested)
		if err != nil {
			if err.Code != "invalid_scope" || err.Status != http.StatusBadRequest {
				t.Fatalf("error %q with status %d, want invalid_scope 400", err.Code, err.Status)
			}
			if !validDescription(err.Description) {
				t.Fatalf("error_description %q has characters RFC 6749 §5.2 does not allow", err.Description)
			}
			return
		}
		if len(all) == 0 {
			t.Fatal("a client without scopes was granted a token")
		}
		asked := slices.DeleteFunc(strings.Split(requested, " "), func(s string) bool { return s == "" })
		if len(asked) == 0 {
			if !slices.Equal(got, all) {
				t.Fatalf("no scope requested: granted %q, want every scope of the client %q", got, all)
			}
			return
		}
		last := -1
		for _, s := range got {
			i := slices.Index(all, s)
			if i <= last {
				t.Fatalf("granted %q: not the client's scopes %q in their order, once each", got, all)
			}
			last = i
			if !slices.Contains(asked, s) {
				t.Fatalf("granted %q, which was not requested (%q)", s, requested)
			}
		}
		for _, s := range asked {
			if !slices.Contains(got, s) {
				t.Fatalf("requested %q was not granted: %q", s, got)
			}
		}
	})
}

func TestLimitAddress(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"::ffff:203.0.113.7", "::ffff:203.0.113.7"},
		{"not an address", "not an address"},
	} {
		if got := limitAddress(tt.in); got != tt.want {
			t.Errorf("limitAddress(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
