"""Events: image.analyzed / image.failed, published once per outcome to the image events topic."""
