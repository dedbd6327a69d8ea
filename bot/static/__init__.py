"""The office web page (HTML, CSS, JavaScript): data, shipped with the package."""
