"""An example third-party sscl plugin: the lwf method and the forgetting-alarm callback."""
