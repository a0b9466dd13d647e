"""Active-learning query strategies for sscl."""
