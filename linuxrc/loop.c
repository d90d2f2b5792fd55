/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kabi.h"
#include "loop.h"
#include "util.h"

static void fill_info(struct dim_loop_info64 *info, const char *file)
{
	memset(info, 0, sizeof(*info));
	info->lo_flags = DIM_LO_FLAGS_AUTOCLEAR;
	snprintf((char *)info->lo_file_name, sizeof(info->lo_file_name), "%s", file);
}

int loop_attach(const char *file, char *dev, size_t size, const char **what)
{
	struct dim_loop_config lc;
	int ctl, fd, lfd, n, tries, rc = 0;

	fd = open(file, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		*what = "open the image file";
		return -errno;
	}
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		rc = -errno;
		*what = "open /dev/loop-control (is the loop module loaded?)";
		goto err_fd;
	}
	/* Another process may take the free device between the two calls: try again. */
	for (tries = 0; tries < 8; tries++) {
		n = ioctl(ctl, DIM_LOOP_CTL_GET_FREE);
		if (n < 0) {
			rc = -errno;
			*what = "find a free loop device";
			goto err_ctl;
		}
		snprintf(dev, size, "/dev/loop%d", n);
		/* devtmpfs creates the node; give it a moment after the module loads. */
		for (int wait = 0; (lfd = open(dev, O_RDWR | O_CLOEXEC)) < 0 && errno == ENOENT &&
				   wait < 50;
		     wait++)
			util_sleep_ms(20);
		if (lfd < 0) {
			rc = -errno;
			*what = "open the loop device";
			goto err_ctl;
		}
		memset(&lc, 0, sizeof(lc));
		lc.fd = (uint32_t)fd;
		fill_info(&lc.info, file);
		if (ioctl(lfd, DIM_LOOP_CONFIGURE, &lc) == 0)
			goto done;
		if (errno == EBUSY) {
			close(lfd);
			continue;
		}
		if (errno != EINVAL && errno != ENOTTY) {
			rc = -errno;
			*what = "configure the loop device";
			goto err_lfd;
		}
		/* Before Linux 5.8: two calls. */
		if (ioctl(lfd, DIM_LOOP_SET_FD, fd) < 0) {
			if (errno == EBUSY) {
				close(lfd);
				continue;
			}
			rc = -errno;
			*what = "attach the image to the loop device";
			goto err_lfd;
		}
		if (ioctl(lfd, DIM_LOOP_SET_STATUS64, &lc.info) < 0) {
			rc = -errno;
			*what = "set the loop device's status";
			ioctl(lfd, DIM_LOOP_CLR_FD, 0);
			goto err_lfd;
		}
		goto done;
	}
	rc = -EBUSY;
	*what = "find a free loop device";
	goto err_ctl;
done:
	close(ctl);
	close(fd);
	return lfd;
err_lfd:
	close(lfd);
err_ctl:
	close(ctl);
err_fd:
	close(fd);
	return rc;
}

int loop_detach(const char *dev)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, DIM_LOOP_CLR_FD, 0) < 0)
		rc = -errno;
	close(fd);
	return rc;
}
