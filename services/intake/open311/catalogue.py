"""What an Open311 app discovers: the endpoint, the services and their definitions.

The services are the directory's categories (code, name, keywords, and as ``group``
the department that leads them). Every service takes one attribute, the community, a
``singlevaluelist`` of the jurisdiction's communities (keyed ``<district>:<community>``
when no jurisdiction is named); it is optional, since a request without one goes to
the district's liaison office. ``jurisdiction_id`` is a district code. Pure functions
over the directory snapshot.
"""
from services.common.errors import BadRequest, NotFound

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
COMMUNITY = "community"


def discovery(base_url, changeset):
    return {"changeset": changeset, "contact": "the district's people's congress liaison office",
            "key_service": "API keys are issued by the system's administrator (admin CLI)",
            "endpoints": [{"specification": SPECIFICATION, "url": f"{base_url}/open311/v2",
                           "changeset": changeset, "type": "production",
                           "formats": ["text/xml", "application/json"]}]}


def services(directory):
    return [{"service_code": code, "service_name": category["name"],
             "description": category["name"], "metadata": True, "type": "realtime",
             "keywords": ",".join(category.get("keywords", [])),
             "group": _leading_department(directory, code)}
            for code, category in directory["categories"].items()]


def service_definition(directory, code, jurisdiction=None):
    if code not in directory["categories"]:
        raise NotFound(f"No service {code}.")
    districts = _districts(directory, jurisdiction)
    values = [{"key": community if len(districts) == 1 else f"{district}:{community}",
               "name": _community_name(directory, district, community, districts)}
              for district in districts for community in directory["districts"][district]["communities"]]
    return {"service_code": code, "attributes": [{
        "variable": True, "code": COMMUNITY, "datatype": "singlevaluelist", "required": False,
        "datatype_description": "The community (社区) where it is; without one the district's"
                                " liaison office takes the request",
        "order": 1, "description": "社区 / community", "values": values}]}


def service_name(directory, code):
    category = directory["categories"].get(code) if code else None
    return category["name"] if category else None


def _districts(directory, jurisdiction):
    if jurisdiction is None:
        return list(directory["districts"])
    if jurisdiction not in directory["districts"]:
        raise BadRequest("Unknown jurisdiction_id.",
                         errors={"jurisdiction_id": ["Not a district of this system."]})
    return [jurisdiction]


def _community_name(directory, district, community, districts):
    name = directory["districts"][district]["communities"][community]["name"]
    return name if len(districts) == 1 else f"{directory['districts'][district]['name']} {name}"


def _leading_department(directory, category):
    for department in directory["departments"].values():
        if category in department["categories"]:
            return department["name"]
    return None
