/* Target 3: the libvips loader. The module's sources are linked into this
 * program and registered by calling its g_module_check_init(); VIPSHOME
 * points at a folder without modules, so libvips loads no vips-msic.so of
 * its own (an installed one would register the same types twice).
 * vips_image_new_from_buffer (msicload_buffer) on the input (fail_on and
 * recover set by the input's length), its metadata,
 * then vips_image_write_to_memory of the whole image (small ones) and of a
 * window. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmodule.h>
#include <vips/vips.h>

#include "fuzz_support.h"

const gchar *g_module_check_init(GModule *module);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	setenv("VIPSHOME", "/nonexistent/msic-fuzz-vipshome", 1);
	if (VIPS_INIT((*argv)[0]))
		abort();
	if (g_module_check_init(NULL))
		abort();
	/* Nothing cached between inputs, and one worker thread, so that an
	 * input does the same work whenever it is run. MSIC_FUZZ_VIPS_CONCURRENCY
	 * raises it. */
	vips_cache_set_max(0);
	const char *conc = getenv("MSIC_FUZZ_VIPS_CONCURRENCY");
	vips_concurrency_set(conc ? atoi(conc) : 1);
	return 0;
}

static void write_out(VipsImage *image)
{
	size_t size = 0;
	void *mem = vips_image_write_to_memory(image, &size);

	g_free(mem);
}

static void *read_field(VipsImage *image, const char *name, GValue *value,
	void *a)
{
	(void) image;
	(void) name;
	(void) a;
	if (G_VALUE_HOLDS_STRING(value))
		(void) strlen(g_value_get_string(value) ? g_value_get_string(value) : "");
	else if (G_VALUE_HOLDS(value, VIPS_TYPE_BLOB)) {
		size_t length;
		const unsigned char *blob =
			vips_blob_get(g_value_get_boxed(value), &length);
		unsigned sum = 0;
		size_t i;

		/* Touch every byte: ASan checks the blob is all there. */
		for (i = 0; i < length; i++)
			sum += blob[i];
		(void) sum;
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Both failure policies, and recover (a damaged file's whole tiles)
	 * on or off, chosen by the input's length. */
	VipsImage *image = vips_image_new_from_buffer(data, size, "",
		"fail_on", (size & 1) ? VIPS_FAIL_ON_WARNING : VIPS_FAIL_ON_NONE,
		"recover", (size & 2) != 0,
		NULL);

	if (image) {
		const int w = vips_image_get_width(image);
		const int h = vips_image_get_height(image);
		VipsImage *window;

		vips_image_map(image, read_field, NULL);
		if ((uint64_t) w * h <= MSIC_FUZZ_WHOLE_PIXELS)
			write_out(image);
		else if (!vips_crop(image, &window, w / 3, h / 3,
			VIPS_MIN(w - w / 3, (int) MSIC_FUZZ_WINDOW),
			VIPS_MIN(h - h / 3, (int) MSIC_FUZZ_WINDOW), NULL)) {
			write_out(window);
			g_object_unref(window);
		}
		g_object_unref(image);
	}
	vips_error_clear();
	return 0;
}
