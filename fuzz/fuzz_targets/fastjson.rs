//! fastjson reading: `normalize`, lenient `from_slice` into a `Value`, and `TopicRouteData`
//! through `body::from_json`, with a legacy/standard write → read round trip of the route.
#![no_main]

use apogee_protocol::body::from_json;
use apogee_protocol::body::route::TopicRouteData;
use apogee_protocol::fastjson::{self, JsonStyle};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fastjson::normalize(data);
    let _ = fastjson::from_slice::<serde_json::Value>(data);

    if let Ok(route) = from_json::<TopicRouteData>("route", data) {
        for style in [JsonStyle::Standard, JsonStyle::Legacy] {
            let written = route.to_json(style);
            let read: TopicRouteData = from_json("route", &written)
                .unwrap_or_else(|e| panic!("our own {style:?} route JSON must parse: {e}"));
            assert_eq!(read, route, "{style:?} round trip changed the route");
        }
    }
});
