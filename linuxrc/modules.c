/* SPDX-License-Identifier: MIT */
/*
 * Kernel modules from the initramfs.  The builder resolved the dependencies
 * and wrote the load order (Debian's kernel packages carry no modules.dep);
 * the linuxrc only follows it.  finit_module(2) lets the kernel read and
 * check the file itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "modules.h"

int modules_parse_line(char *line, char **name, char **params)
{
	char *p = line, *end;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '#' || *p == '\0' || *p == '\n')
		return 0;
	*name = p;
	while (*p && *p != ' ' && *p != '\t' && *p != '\n')
		p++;
	end = p;
	if (*p)
		p++;
	*end = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	*params = p;
	p[strcspn(p, "\n")] = '\0';
	/* A plain file name in the module directory: no path, no "..". */
	if (strchr(*name, '/') || (*name)[0] == '.')
		return -EINVAL;
	return 1;
}

static void note_failure(struct modules_result *res, const char *name, int err)
{
	size_t used = strlen(res->failures);

	res->failed++;
	snprintf(res->failures + used, sizeof(res->failures) - used, "%s%s: %s",
		 used ? ", " : "", name, strerror(err));
}

int modules_load(const char *list, const char *dir, struct modules_result *res)
{
	char line[512], path[512];
	FILE *f;
	int lines = 0;

	memset(res, 0, sizeof(*res));
	f = fopen(list, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *name, *params;
		uint64_t t0 = log_now_ms();
		int fd, rc;

		rc = modules_parse_line(line, &name, &params);
		if (rc == 0)
			continue;
		lines++;
		if (rc < 0) {
			log_warn(STEP_MODULES, "%s: bad module name \"%.64s\" skipped", list, line);
			res->failed++;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			rc = errno;
			log_warn(STEP_MODULES, "%s: %s", path, strerror(rc));
			note_failure(res, name, rc);
			continue;
		}
		rc = (int)syscall(SYS_finit_module, fd, params, 0);
		rc = rc < 0 ? errno : 0;
		close(fd);
		if (rc == 0) {
			res->loaded++;
			log_debug(STEP_MODULES, "%s loaded in %llu ms", name,
				  (unsigned long long)(log_now_ms() - t0));
		} else if (rc == EEXIST) {
			res->present++;
		} else if (rc == ENODEV) {
			/* A driver for hardware this blade lacks (one initramfs, many NICs): normal. */
			res->nodev++;
			log_debug(STEP_MODULES, "%s: %s", name, strerror(rc));
		} else {
			log_warn(STEP_MODULES, "%s: %s", name, strerror(rc));
			note_failure(res, name, rc);
		}
	}
	fclose(f);
	return lines;
}
