"""Files in and out: video decode/encode (`video`), images, output paths and atomic writes."""
