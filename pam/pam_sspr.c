/*
 * pam_sspr — "Forgot your password or locked out?" at any PAM prompt.
 *
 * This module is deliberately small and holds no logic of its own: it runs
 * `sspr-agent pam-helper` as a child process and relays the helper's
 * conversation to the PAM application (console login, sshd, a graphical
 * greeter). The reset or unlock itself — factors, codes, password rules,
 * talking to the sspr server — happens in the helper, in Go, outside the
 * login process. Why: a login process (sshd, a display manager) is
 * long-lived, multi-threaded and privileged; loading a Go runtime into it
 * (threads, signal handlers, no safe fork) is riskier than a short child
 * process, and a crash of the helper can never take the login prompt down.
 *
 * The pipe protocol (one line per message, "\\" and newlines escaped as
 * "\\\\" and "\\n"):
 *   helper -> module:  "P0 text"   prompt, answer not echoed (secrets)
 *                      "P1 text"   prompt, answer echoed
 *                      "I text"    information
 *                      "E text"    error message
 *                      "T token"   the new password, to hand on as PAM_AUTHTOK
 *                      "R ok" | "R fail" | "R ignore"   the outcome; last line
 *   module -> helper:  "A answer"  the person's answer to the last prompt
 *                      "X"         the person cancelled the prompt
 *
 * Never worse than before: if the helper cannot be started, says nothing
 * for `timeout` seconds while the module waits on it (the person's typing
 * is not counted), or breaks the protocol, the module kills it, tells the
 * person plainly and returns PAM_IGNORE, so the stack goes on as it would
 * without this module. Nothing the person types is logged.
 *
 * Options:
 *   agent=PATH     the helper binary (default /usr/bin/sspr-agent)
 *   config=PATH    passed to the helper as --config
 *   mode=offer     (auth) after an earlier module failed: ask whether to
 *                  reset or unlock (the default)
 *   mode=prompt    (auth) ask for the password here; the trigger word runs
 *                  the reset, anything else is handed on as PAM_AUTHTOK
 *   trigger=WORD   the word typed at the password prompt (default "reset")
 *   timeout=SEC    how long the helper may be silent (default 20)
 *   password stack: checks a new password against sspr's rules and the
 *   breached-password corpus before the directory sees it (like
 *   pam_pwquality), prompting for it and setting PAM_AUTHTOK.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define PAM_SM_AUTH
#define PAM_SM_PASSWORD
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#define MAX_LINE 8192

struct opts {
	const char *agent;
	const char *config;
	const char *mode;
	const char *trigger;
	int timeout;
};

static void parse_opts(struct opts *o, int argc, const char **argv) {
	o->agent = "/usr/bin/sspr-agent";
	o->config = NULL;
	o->mode = "offer";
	o->trigger = "reset";
	o->timeout = 20;
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "agent=", 6) == 0) o->agent = argv[i] + 6;
		else if (strncmp(argv[i], "config=", 7) == 0) o->config = argv[i] + 7;
		else if (strncmp(argv[i], "mode=", 5) == 0) o->mode = argv[i] + 5;
		else if (strncmp(argv[i], "trigger=", 8) == 0) o->trigger = argv[i] + 8;
		else if (strncmp(argv[i], "timeout=", 8) == 0) {
			int t = atoi(argv[i] + 8);
			if (t > 0 && t <= 600) o->timeout = t;
		}
	}
}

struct helper {
	pid_t pid;
	int to;   /* write end: module -> helper */
	int from; /* read end: helper -> module */
	char buf[MAX_LINE];
	size_t len;
};

static void wipe(char *s) {
	if (s) {
		volatile char *p = s;
		while (*p) *p++ = 0;
	}
}

static int start_helper(struct helper *h, const struct opts *o, const char *cmd, const char *user, const char *service) {
	int in[2], out[2];
	memset(h, 0, sizeof(*h));
	h->pid = -1;
	if (pipe2(in, O_CLOEXEC) != 0) return -1;
	if (pipe2(out, O_CLOEXEC) != 0) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		return -1;
	}
	if (pid == 0) {
		/* Child: stdin from the module, stdout to the module, stderr to
		 * /dev/null (the helper logs to syslog itself). */
		dup2(in[0], 0);
		dup2(out[1], 1);
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0) dup2(devnull, 2);
		const char *args[12];
		int n = 0;
		args[n++] = o->agent;
		args[n++] = cmd;
		args[n++] = "--user";
		args[n++] = user;
		args[n++] = "--service";
		args[n++] = service ? service : "";
		if (o->config) {
			args[n++] = "--config";
			args[n++] = o->config;
		}
		args[n] = NULL;
		char *env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL, NULL};
		const char *lang = getenv("LANG");
		char langbuf[128];
		if (lang && strlen(lang) < 100) {
			snprintf(langbuf, sizeof(langbuf), "LANG=%s", lang);
			env[1] = langbuf;
		}
		execve(o->agent, (char *const *)args, env);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	h->pid = pid;
	h->to = in[1];
	h->from = out[0];
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void stop_helper(struct helper *h) {
	if (h->to > 0) close(h->to);
	if (h->from > 0) close(h->from);
	h->to = h->from = -1;
	if (h->pid > 0) {
		int status;
		if (waitpid(h->pid, &status, WNOHANG) == 0) {
			kill(h->pid, SIGKILL);
			waitpid(h->pid, &status, 0);
		}
	}
	h->pid = -1;
	memset(h->buf, 0, sizeof(h->buf));
}

/* read_line reads one line from the helper into out (unescaped), waiting
 * at most timeout seconds. Returns 0, or -1 on timeout, EOF or error. */
static int read_line(struct helper *h, char *out, size_t outsz, int timeout) {
	time_t deadline = time(NULL) + timeout;
	for (;;) {
		char *nl = memchr(h->buf, '\n', h->len);
		if (nl) {
			size_t n = (size_t)(nl - h->buf);
			size_t j = 0;
			for (size_t i = 0; i < n && j + 1 < outsz; i++) {
				if (h->buf[i] == '\\' && i + 1 < n) {
					i++;
					out[j++] = h->buf[i] == 'n' ? '\n' : h->buf[i];
				} else {
					out[j++] = h->buf[i];
				}
			}
			out[j] = 0;
			memset(h->buf, 0, n + 1);
			memmove(h->buf, nl + 1, h->len - n - 1);
			h->len -= n + 1;
			return 0;
		}
		if (h->len >= sizeof(h->buf) - 1) return -1;
		int left = (int)(deadline - time(NULL));
		if (left <= 0) return -1;
		struct pollfd p = {.fd = h->from, .events = POLLIN};
		int r = poll(&p, 1, left * 1000);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) return -1;
		ssize_t got = read(h->from, h->buf + h->len, sizeof(h->buf) - 1 - h->len);
		if (got < 0 && errno == EINTR) continue;
		if (got <= 0) return -1;
		h->len += (size_t)got;
	}
}

static int write_all(int fd, const char *s, size_t n) {
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR) continue;
		if (w <= 0) return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* send_line writes "prefix text\n" with text escaped. */
static int send_line(struct helper *h, const char *prefix, const char *text) {
	size_t n = strlen(prefix) + 2 * (text ? strlen(text) : 0) + 3;
	char *line = calloc(1, n);
	if (!line) return -1;
	size_t j = 0;
	for (const char *p = prefix; *p; p++) line[j++] = *p;
	if (text) {
		line[j++] = ' ';
		for (const char *p = text; *p; p++) {
			if (*p == '\\' || *p == '\n') {
				line[j++] = '\\';
				line[j++] = *p == '\n' ? 'n' : '\\';
			} else {
				line[j++] = *p;
			}
		}
	}
	line[j++] = '\n';
	int r = write_all(h->to, line, j);
	memset(line, 0, n);
	free(line);
	return r;
}

enum outcome { OUT_OK, OUT_FAIL, OUT_IGNORE, OUT_BROKEN };

/* converse relays the helper's conversation until it reports an outcome.
 * *token receives the new password when the helper hands one on. */
static enum outcome converse(pam_handle_t *pamh, struct helper *h, int timeout, char **token) {
	char *line = calloc(1, MAX_LINE);
	if (!line) return OUT_BROKEN;
	enum outcome result = OUT_BROKEN;
	for (;;) {
		if (read_line(h, line, MAX_LINE, timeout) != 0) break;
		const char *text = strlen(line) > 2 ? line + 2 : (strlen(line) > 1 ? line + 1 : "");
		if (line[0] == 'P' && (line[1] == '0' || line[1] == '1')) {
			text = line[2] == ' ' ? line + 3 : line + 2;
			char *answer = NULL;
			int style = line[1] == '1' ? PAM_PROMPT_ECHO_ON : PAM_PROMPT_ECHO_OFF;
			int r = pam_prompt(pamh, style, &answer, "%s", text);
			if (r != PAM_SUCCESS || answer == NULL) {
				send_line(h, "X", NULL);
			} else {
				r = send_line(h, "A", answer);
				wipe(answer);
				free(answer);
				if (r != 0) break;
			}
		} else if (line[0] == 'I') {
			pam_info(pamh, "%s", text);
		} else if (line[0] == 'E') {
			pam_error(pamh, "%s", text);
		} else if (line[0] == 'T') {
			if (*token) {
				wipe(*token);
				free(*token);
			}
			*token = strdup(text);
		} else if (line[0] == 'R') {
			if (strcmp(text, "ok") == 0) result = OUT_OK;
			else if (strcmp(text, "fail") == 0) result = OUT_FAIL;
			else result = OUT_IGNORE;
			break;
		} else {
			break; /* protocol broken */
		}
	}
	memset(line, 0, MAX_LINE);
	free(line);
	return result;
}

/* run_helper runs one helper command with the conversation relayed and
 * maps its outcome; on success with a token it becomes PAM_AUTHTOK. */
static int run_helper(pam_handle_t *pamh, const struct opts *o, const char *cmd, const char *user) {
	const void *service = NULL;
	pam_get_item(pamh, PAM_SERVICE, &service);
	struct helper h;
	if (start_helper(&h, o, cmd, user, (const char *)service) != 0) {
		pam_syslog(pamh, LOG_ERR, "cannot start %s", o->agent);
		pam_error(pamh, "Password reset is not available on this computer right now. Log in as usual, or call the help desk.");
		return PAM_IGNORE;
	}
	char *token = NULL;
	enum outcome out = converse(pamh, &h, o->timeout, &token);
	stop_helper(&h);
	int ret;
	switch (out) {
	case OUT_OK:
		if (token) pam_set_item(pamh, PAM_AUTHTOK, token);
		pam_syslog(pamh, LOG_NOTICE, "self-service %s for %s succeeded", cmd, user);
		ret = PAM_SUCCESS;
		break;
	case OUT_FAIL:
		pam_syslog(pamh, LOG_NOTICE, "self-service %s for %s did not complete", cmd, user);
		ret = PAM_AUTH_ERR;
		break;
	case OUT_IGNORE:
		ret = PAM_IGNORE;
		break;
	default:
		pam_syslog(pamh, LOG_ERR, "the sspr agent stopped answering; going on without it");
		pam_error(pamh, "Password reset did not answer in time. Log in as usual, or call the help desk.");
		ret = PAM_IGNORE;
	}
	if (token) {
		wipe(token);
		free(token);
	}
	return ret;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
	(void)flags;
	struct opts o;
	parse_opts(&o, argc, argv);
	const char *user = NULL;
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL || *user == 0) return PAM_USER_UNKNOWN;

	if (strcmp(o.mode, "prompt") == 0) {
		char *answer = NULL;
		int r = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &answer, "Password (or \"%s\" if you forgot it or are locked out): ", o.trigger);
		if (r != PAM_SUCCESS || answer == NULL) return PAM_CONV_ERR;
		if (strcmp(answer, o.trigger) != 0) {
			pam_set_item(pamh, PAM_AUTHTOK, answer);
			wipe(answer);
			free(answer);
			return PAM_IGNORE;
		}
		wipe(answer);
		free(answer);
		return run_helper(pamh, &o, "pam-helper", user);
	}

	/* mode=offer: an earlier module failed. */
	char *answer = NULL;
	int r = pam_prompt(pamh, PAM_PROMPT_ECHO_ON, &answer, "Forgot your password or locked out? Type yes to reset or unlock it, or press Enter to go on: ");
	if (r != PAM_SUCCESS || answer == NULL) return PAM_IGNORE;
	int yes = strcasecmp(answer, "yes") == 0 || strcasecmp(answer, "y") == 0;
	free(answer);
	if (!yes) return PAM_IGNORE;
	return run_helper(pamh, &o, "pam-helper", user);
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
	(void)pamh; (void)flags; (void)argc; (void)argv;
	return PAM_IGNORE;
}

/* pam_sm_chauthtok: the password-policy check of `passwd`. The new
 * password is asked for here (as pam_pwquality does) and checked by sspr;
 * the module after it uses it (use_authtok). */
PAM_EXTERN int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv) {
	struct opts o;
	parse_opts(&o, argc, argv);
	if (flags & PAM_PRELIM_CHECK) return PAM_SUCCESS;
	const char *user = NULL;
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL) return PAM_USER_UNKNOWN;
	for (int tries = 0; tries < 3; tries++) {
		const char *pw = NULL;
		int r = pam_get_authtok(pamh, PAM_AUTHTOK, &pw, NULL);
		if (r != PAM_SUCCESS || pw == NULL) return r == PAM_SUCCESS ? PAM_AUTHTOK_ERR : r;
		struct helper h;
		if (start_helper(&h, &o, "check-password", user, NULL) != 0) {
			pam_syslog(pamh, LOG_ERR, "cannot start %s", o.agent);
			return PAM_IGNORE;
		}
		char *token = NULL;
		enum outcome out = OUT_BROKEN;
		/* The helper asks for the password with a P0 prompt; answer it
		 * from PAM_AUTHTOK instead of asking the person again. */
		char *line = calloc(1, MAX_LINE);
		if (line && read_line(&h, line, MAX_LINE, o.timeout) == 0 && line[0] == 'P' && send_line(&h, "A", pw) == 0) {
			out = converse(pamh, &h, o.timeout, &token);
		}
		if (line) {
			memset(line, 0, MAX_LINE);
			free(line);
		}
		stop_helper(&h);
		if (token) {
			wipe(token);
			free(token);
		}
		if (out == OUT_OK) return PAM_SUCCESS;
		if (out != OUT_FAIL) {
			pam_syslog(pamh, LOG_ERR, "the sspr agent could not check the new password; leaving it to the next module");
			return PAM_IGNORE;
		}
		/* Refused: the reasons were shown; ask again. */
		pam_set_item(pamh, PAM_AUTHTOK, NULL);
	}
	return PAM_MAXTRIES;
}
