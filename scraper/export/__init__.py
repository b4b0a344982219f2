"""Exports for the archive world's tools: a CDXJ index of the WARC files (``cdxj``), a WACZ
package (``wacz``) and the CSV layout of the article record (``table``)."""
