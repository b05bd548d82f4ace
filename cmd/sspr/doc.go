// Command sspr is the self-service password reset server and its tools:
//
//	sspr serve --config FILE   run the portal, the API and the mail outbox
//	sspr demo                  run everything with an embedded directory and
//	                           captured mail, nothing to set up
//	sspr config check FILE     list every problem in a configuration file
//	sspr version               print the version
package main
