"""Who sends (authentication) and whether they may (authorization): the parts of the receiver that
decide on a request's sender, without handling the request itself."""
