"""Archive of record for Korea's English-language news (Yonhap English, The Korea Herald)."""

__version__ = "0.1.0"
