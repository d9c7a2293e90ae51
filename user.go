package tokenservice

// User is the person signed in to the portal, as the identity provider
// describes them.
type User struct {
	Subject     string
	Email       string
	Name        string
	AccountID   string
	AccountName string
	Admin       bool
}
