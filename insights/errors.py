"""The insights app's refusals (codes listed in docs/api.md)."""

from config.errors import KassaError


class EventsBatchTooLarge(KassaError):
    code = "events_batch_too_large"
    status = 400
    default_detail = "Too many events in one batch."


class ProductNotFound(KassaError):
    code = "product_not_found"
    status = 404
    default_detail = "No product with this SKU."


class CampaignSegmentEmpty(KassaError):
    code = "campaign_segment_empty"
    status = 409
    default_detail = "The campaign's segment has no members: evaluate it first."


class CampaignSegmentForeign(KassaError):
    code = "campaign_segment_foreign"
    status = 400
    default_detail = "The campaign's segment belongs to another merchant."


class CampaignTooLarge(KassaError):
    code = "campaign_too_large"
    status = 409
    default_detail = "The campaign's segment has more members than one campaign may draw."
