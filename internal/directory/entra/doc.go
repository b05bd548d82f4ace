// Package entra is a directory connector for cloud-only Microsoft Entra ID
// accounts, spoken to through Microsoft Graph with an app registration's
// client credentials (a secret or a certificate).
//
// It finds people by userPrincipalName or mail, reads whether the account
// is enabled and whether it is mastered on-premises, and resets passwords
// through passwordProfile. It cannot check a password: client credentials
// give no way to sign in as the person, so VerifyPassword always says so
// (KindUnsupported) and the change and enrollment sign-in flows refuse for
// Entra directories. Accounts synchronised from Active Directory
// (onPremisesSyncEnabled) are found but never reset here: their password
// lives in AD, and Entra would overwrite or refuse the change.
package entra
