"""What every microblog process is built from: settings, MongoDB access, tokens, errors, health."""
