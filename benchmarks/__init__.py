"""Models and measurements of microblog at scale; not shipped in the images."""
