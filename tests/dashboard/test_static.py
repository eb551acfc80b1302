from django.test import Client


def test_chart_js_and_the_dashboards_files_are_served_without_a_web_server(settings):
    # given production settings (gunicorn serves the app alone: no runserver static handler)
    settings.DEBUG = False
    client = Client()  # a new handler, so WhiteNoise reads these settings
    # when
    chart = client.get("/static/dashboard/vendor/chart.umd.min.js")
    charts = client.get("/static/dashboard/charts.js")
    css = client.get("/static/dashboard/dashboard.css")
    # then
    assert chart.status_code == charts.status_code == css.status_code == 200
    assert b"Chart.js v4.6.1" in b"".join(chart.streaming_content)
    assert chart["Content-Type"].startswith("text/javascript")
    assert "max-age" in chart["Cache-Control"]
    assert client.get("/static/dashboard/nothing.js").status_code == 404
