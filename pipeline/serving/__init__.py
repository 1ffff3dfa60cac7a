"""The serving copy BI tools read: published versions of the bi schema, switched atomically."""
