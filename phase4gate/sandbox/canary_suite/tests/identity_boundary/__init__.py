"""The four identity-boundary scenarios (marker ``sync_identity_boundary_deployed_dev``)."""
