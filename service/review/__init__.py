"""The periodic review (issue 15): the review.json content, its schema, and the report files.

``service.review.build`` gathers a window's events, incidents and labels and calls the pure
builder in ``detections.review``; ``review.schema.json`` is the contract the HTML renderer
(``service.review.html``) reads.
"""
