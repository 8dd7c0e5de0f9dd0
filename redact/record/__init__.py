"""What travels with a clip: the manifest, the device signature, the share log, and
`verify`, which reads them back."""
