/* The three ways into the MSIC loader (msicload.c): each subclass opens an
 * msic_reader on its input in build, then chains up to the base, which
 * reads the header and decodes tiles.
 *   msicload         a filename       msic_reader_new_file
 *   msicload_buffer  a memory blob    msic_reader_new_memory
 *   msicload_source  a VipsSource     msic_reader_new_callbacks
 */
#include <stdint.h>
#include <stdio.h>

#include "msic_vips.h"

/* ------------------------------------------------------------------ file */

typedef struct _VipsForeignLoadMsicFile {
	VipsForeignLoadMsic parent_object;

	char *filename;
} VipsForeignLoadMsicFile;

typedef VipsForeignLoadMsicClass VipsForeignLoadMsicFileClass;

G_DEFINE_TYPE(VipsForeignLoadMsicFile, vips_foreign_load_msic_file,
	vips_foreign_load_msic_get_type());

static int
vips_foreign_load_msic_file_build(VipsObject *object)
{
	VipsForeignLoadMsic *msic = (VipsForeignLoadMsic *) object;
	VipsForeignLoadMsicFile *file = (VipsForeignLoadMsicFile *) object;

	if (file->filename) {
		msic_context *context;

		msic->name = g_strdup(file->filename);
		msic->filename = g_strdup(file->filename);
		if (vips_foreign_load_msic_context(msic, &context))
			return -1;
		if (msic_reader_new_file(context, file->filename,
			&msic->reader) != MSIC_OK) {
			vips_foreign_load_msic_error(msic, "unable to open");
			return -1;
		}
	}

	return VIPS_OBJECT_CLASS(vips_foreign_load_msic_file_parent_class)->
		build(object);
}

static gboolean
vips_foreign_load_msic_file_is_a(const char *filename)
{
	unsigned char head[16];
	gint64 n;

	if ((n = vips__get_bytes(filename, head, sizeof(head))) <= 0)
		return FALSE;

	return msic_identify(head, (size_t) n) != 0;
}

static VipsForeignFlags
vips_foreign_load_msic_file_get_flags_filename(const char *filename)
{
	(void) filename;

	return VIPS_FOREIGN_PARTIAL;
}

static void
vips_foreign_load_msic_file_class_init(VipsForeignLoadMsicFileClass *class)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(class);
	VipsObjectClass *object_class = (VipsObjectClass *) class;
	VipsForeignClass *foreign_class = (VipsForeignClass *) class;
	VipsForeignLoadClass *load_class = (VipsForeignLoadClass *) class;

	gobject_class->set_property = vips_object_set_property;
	gobject_class->get_property = vips_object_get_property;

	object_class->nickname = "msicload";
	object_class->description = "load MSIC learned-codec image from file";
	object_class->build = vips_foreign_load_msic_file_build;

	foreign_class->suffs = vips__msic_suffs;

	load_class->is_a = vips_foreign_load_msic_file_is_a;
	load_class->get_flags_filename =
		vips_foreign_load_msic_file_get_flags_filename;

	VIPS_ARG_STRING(class, "filename", 1,
		"Filename",
		"Filename to load from",
		VIPS_ARGUMENT_REQUIRED_INPUT,
		G_STRUCT_OFFSET(VipsForeignLoadMsicFile, filename),
		NULL);
}

static void
vips_foreign_load_msic_file_init(VipsForeignLoadMsicFile *file)
{
	(void) file;
}

/* ---------------------------------------------------------------- buffer */

typedef struct _VipsForeignLoadMsicBuffer {
	VipsForeignLoadMsic parent_object;

	/* The reader reads this blob in place; as an argument of the
	 * operation it lives as long as we do. */
	VipsBlob *blob;
} VipsForeignLoadMsicBuffer;

typedef VipsForeignLoadMsicClass VipsForeignLoadMsicBufferClass;

G_DEFINE_TYPE(VipsForeignLoadMsicBuffer, vips_foreign_load_msic_buffer,
	vips_foreign_load_msic_get_type());

static int
vips_foreign_load_msic_buffer_build(VipsObject *object)
{
	VipsForeignLoadMsic *msic = (VipsForeignLoadMsic *) object;
	VipsForeignLoadMsicBuffer *buffer =
		(VipsForeignLoadMsicBuffer *) object;

	if (buffer->blob) {
		VipsArea *area = VIPS_AREA(buffer->blob);
		msic_context *context;

		msic->name = g_strdup("buffer");
		if (vips_foreign_load_msic_context(msic, &context))
			return -1;
		if (msic_reader_new_memory(context, area->data, area->length,
			&msic->reader) != MSIC_OK) {
			vips_foreign_load_msic_error(msic, "unable to open");
			return -1;
		}
	}

	return VIPS_OBJECT_CLASS(vips_foreign_load_msic_buffer_parent_class)->
		build(object);
}

static gboolean
vips_foreign_load_msic_buffer_is_a(const void *buf, size_t len)
{
	return buf && msic_identify(buf, len) != 0;
}

static void
vips_foreign_load_msic_buffer_class_init(
	VipsForeignLoadMsicBufferClass *class)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(class);
	VipsObjectClass *object_class = (VipsObjectClass *) class;
	VipsForeignLoadClass *load_class = (VipsForeignLoadClass *) class;

	gobject_class->set_property = vips_object_set_property;
	gobject_class->get_property = vips_object_get_property;

	object_class->nickname = "msicload_buffer";
	object_class->description =
		"load MSIC learned-codec image from buffer";
	object_class->build = vips_foreign_load_msic_buffer_build;

	load_class->is_a_buffer = vips_foreign_load_msic_buffer_is_a;

	VIPS_ARG_BOXED(class, "buffer", 1,
		"Buffer",
		"Buffer to load from",
		VIPS_ARGUMENT_REQUIRED_INPUT,
		G_STRUCT_OFFSET(VipsForeignLoadMsicBuffer, blob),
		VIPS_TYPE_BLOB);
}

static void
vips_foreign_load_msic_buffer_init(VipsForeignLoadMsicBuffer *buffer)
{
	(void) buffer;
}

/* ---------------------------------------------------------------- source */

typedef struct _VipsForeignLoadMsicSource {
	VipsForeignLoadMsic parent_object;

	/* An argument: VipsObject's dispose releases it after the base
	 * dispose has closed the reader that reads from it. */
	VipsSource *source;

	/* A VipsSource has one read position: read-at is seek + read under
	 * this lock. (The library also serialises its read calls; the lock
	 * covers minimise as well.) */
	GMutex lock;
} VipsForeignLoadMsicSource;

typedef VipsForeignLoadMsicClass VipsForeignLoadMsicSourceClass;

G_DEFINE_TYPE(VipsForeignLoadMsicSource, vips_foreign_load_msic_source,
	vips_foreign_load_msic_get_type());

static void
vips_foreign_load_msic_source_finalize(GObject *gobject)
{
	VipsForeignLoadMsicSource *self =
		(VipsForeignLoadMsicSource *) gobject;

	g_mutex_clear(&self->lock);

	G_OBJECT_CLASS(vips_foreign_load_msic_source_parent_class)->
		finalize(gobject);
}

static size_t
vips_foreign_load_msic_source_read_at(void *user, uint64_t offset,
	void *buf, size_t size)
{
	VipsForeignLoadMsicSource *self = (VipsForeignLoadMsicSource *) user;
	size_t done;

	if (offset > (uint64_t) G_MAXINT64)
		return 0;

	done = 0;
	g_mutex_lock(&self->lock);
	if (vips_source_seek(self->source, (gint64) offset, SEEK_SET) != -1)
		while (done < size) {
			gint64 n = vips_source_read(self->source,
				(char *) buf + done, size - done);

			if (n <= 0)
				break;
			done += (size_t) n;
		}
	g_mutex_unlock(&self->lock);

	/* A short count tells the library the file is truncated. */
	return done;
}

/* libvips emits "minimise" on the image when a computation ends: let the
 * source close its file descriptor; the next read reopens it. */
static void
vips_foreign_load_msic_source_minimise(VipsImage *image,
	VipsForeignLoadMsicSource *self)
{
	(void) image;

	g_mutex_lock(&self->lock);
	vips_source_minimise(self->source);
	g_mutex_unlock(&self->lock);
}

static int
vips_foreign_load_msic_source_build(VipsObject *object)
{
	VipsForeignLoadMsic *msic = (VipsForeignLoadMsic *) object;
	VipsForeignLoadMsicSource *self =
		(VipsForeignLoadMsicSource *) object;

	if (self->source) {
		const char *filename = vips_connection_filename(
			VIPS_CONNECTION(self->source));
		gint64 length;
		msic_context *context;

		msic->name = g_strdup(vips_connection_nick(
			VIPS_CONNECTION(self->source)));
		msic->filename = g_strdup(filename);

		/* For a pipe this reads everything into memory, which is
		 * unavoidable: the tile index is at the end. */
		if ((length = vips_source_length(self->source)) < 0 ||
			vips_foreign_load_msic_context(msic, &context))
			return -1;

		if (msic_reader_new_callbacks(context,
			vips_foreign_load_msic_source_read_at,
			(uint64_t) length, self, &msic->reader) != MSIC_OK) {
			vips_foreign_load_msic_error(msic, "unable to open");
			return -1;
		}
	}

	if (VIPS_OBJECT_CLASS(vips_foreign_load_msic_source_parent_class)->
		build(object))
		return -1;

	/* The header is read: from now on we only read tiles. */
	if (self->source) {
		g_mutex_lock(&self->lock);
		vips_source_decode(self->source);
		g_mutex_unlock(&self->lock);

		g_signal_connect(((VipsForeignLoad *) object)->out,
			"minimise",
			G_CALLBACK(vips_foreign_load_msic_source_minimise),
			self);
	}

	return 0;
}

static gboolean
vips_foreign_load_msic_source_is_a(VipsSource *source)
{
	const unsigned char *head;
	gint64 n;

	if ((n = vips_source_sniff_at_most(source,
		(unsigned char **) &head, 16)) < 8)
		return FALSE;

	return msic_identify(head, (size_t) n) != 0;
}

static void
vips_foreign_load_msic_source_class_init(
	VipsForeignLoadMsicSourceClass *class)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(class);
	VipsObjectClass *object_class = (VipsObjectClass *) class;
	VipsOperationClass *operation_class = VIPS_OPERATION_CLASS(class);
	VipsForeignLoadClass *load_class = (VipsForeignLoadClass *) class;

	gobject_class->finalize = vips_foreign_load_msic_source_finalize;
	gobject_class->set_property = vips_object_set_property;
	gobject_class->get_property = vips_object_get_property;

	object_class->nickname = "msicload_source";
	object_class->description =
		"load MSIC learned-codec image from source";
	object_class->build = vips_foreign_load_msic_source_build;

	/* Sources can't be compared, so never cache their loads. */
	operation_class->flags |= VIPS_OPERATION_NOCACHE;

	load_class->is_a_source = vips_foreign_load_msic_source_is_a;

	VIPS_ARG_OBJECT(class, "source", 1,
		"Source",
		"Source to load from",
		VIPS_ARGUMENT_REQUIRED_INPUT,
		G_STRUCT_OFFSET(VipsForeignLoadMsicSource, source),
		VIPS_TYPE_SOURCE);
}

static void
vips_foreign_load_msic_source_init(VipsForeignLoadMsicSource *self)
{
	g_mutex_init(&self->lock);
}
