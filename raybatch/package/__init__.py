"""What a creator publishes beside the video: thumbnails, metadata, chapters, captions."""
