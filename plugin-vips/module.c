/* Entry point of vips-msic.so: libvips g_module_open()s every module in
 * $libdir/vips-modules-X.Y at vips_init() and calls g_module_check_init(),
 * where we register our operation classes. */
#include <gmodule.h>

#include "msic_vips.h"

G_MODULE_EXPORT const gchar *
g_module_check_init(GModule *module)
{
	(void) module;

	vips_foreign_load_msic_file_get_type();
	vips_foreign_load_msic_buffer_get_type();
	vips_foreign_load_msic_source_get_type();
	vips_foreign_save_msic_file_get_type();
	vips_foreign_save_msic_buffer_get_type();
	vips_foreign_save_msic_target_get_type();

	/* NULL means success: the types are registered and the module must
	 * stay resident, which libvips ensures. */
	return NULL;
}
