// The blind inspection's form: the phone's location, when the inspector allows it.
(function () {
  "use strict";
  var lat = document.querySelector('input[name="latitude"]');
  var lon = document.querySelector('input[name="longitude"]');
  var state = document.getElementById("location-state");
  if (!lat || !lon || !navigator.geolocation) { return; }
  navigator.geolocation.getCurrentPosition(function (position) {
    lat.value = position.coords.latitude.toFixed(6);
    lon.value = position.coords.longitude.toFixed(6);
    if (state) { state.textContent = lat.value + ", " + lon.value; }
  }, function () {}, { enableHighAccuracy: true, timeout: 10000 });
})();
