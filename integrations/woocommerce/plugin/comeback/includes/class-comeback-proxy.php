<?php
/**
 * The widget's API on the store: `/wp-json/comeback/v1/<path>` forwards to the app's
 * `/proxy/<path>`, signed like Shopify's app proxy, so the app learns the shop and the logged-in
 * shopper from a signature rather than from anything the browser says.
 *
 * The shopper is whoever WordPress authenticated: its login cookie plus the `wp_rest` nonce the
 * widget sends as `X-WP-Nonce`.  Without a nonce WordPress treats the request as a guest's; a
 * stale or forged nonce (a cached page) is treated the same way here instead of failing.
 *
 * @package Comeback
 */

defined( 'ABSPATH' ) || exit;

/**
 * REST routes `comeback/v1/*`.
 */
final class Comeback_Proxy {

	const REST_NAMESPACE = 'comeback/v1';

	/** Parameters only the plugin sets (a shopper's own values for them are dropped). */
	const RESERVED = array( 'platform', 'shop', 'logged_in_customer_id', 'path_prefix', 'timestamp', 'signature' );

	/** WordPress's own routing and auth parameters, not meant for the app. */
	const WORDPRESS_PARAMS = array( 'rest_route', '_wpnonce', '_method', '_envelope', '_jsonp', '_locale' );

	/** Largest request body forwarded (the widget sends a few hundred bytes). */
	const MAX_BODY_BYTES = 65536;

	/**
	 * The raw JSON answer of the app, served as is (see serve_raw).
	 *
	 * @var string|null
	 */
	private static $raw_body = null;

	/**
	 * Hook into WordPress.
	 */
	public static function register() {
		add_action( 'rest_api_init', array( __CLASS__, 'routes' ) );
		add_filter( 'rest_authentication_errors', array( __CLASS__, 'stale_nonce_is_a_guest' ), 101 );
		add_filter( 'rest_pre_serve_request', array( __CLASS__, 'serve_raw' ), 10, 3 );
		add_filter( 'rest_send_nocache_headers', array( __CLASS__, 'never_cached' ) );
	}

	/**
	 * The catch-all route.
	 */
	public static function routes() {
		register_rest_route(
			self::REST_NAMESPACE,
			'/(?P<path>[a-z0-9_-]+(?:/[a-z0-9_-]+)*)',
			array(
				'methods'             => array( 'GET', 'POST', 'PUT', 'PATCH', 'DELETE' ),
				'callback'            => array( __CLASS__, 'forward' ),
				// Public on purpose: guests see the program too.  Who the shopper is travels signed.
				'permission_callback' => '__return_true',
			)
		);
	}

	/**
	 * WordPress refuses a request whose cookie comes with a bad `X-WP-Nonce` (403).  For the
	 * widget's routes that would break every cached page once its nonce expires: the shopper is
	 * treated as a guest instead (never as the cookie's user).
	 *
	 * @param WP_Error|null|true $result The authentication result so far.
	 * @return WP_Error|null|true
	 */
	public static function stale_nonce_is_a_guest( $result ) {
		if ( is_wp_error( $result ) && 'rest_cookie_invalid_nonce' === $result->get_error_code() && self::is_own_route() ) {
			wp_set_current_user( 0 );
			return true;
		}
		return $result;
	}

	/**
	 * The answers are the shopper's own (or a guest's, per query): no page cache may keep them.
	 *
	 * @param bool $send Whether WordPress sends its no-cache headers.
	 * @return bool
	 */
	public static function never_cached( $send ) {
		return $send || self::is_own_route();
	}

	/**
	 * Whether the REST request being served is one of ours.
	 *
	 * @return bool
	 */
	private static function is_own_route() {
		global $wp;
		$route = isset( $wp->query_vars['rest_route'] ) ? (string) $wp->query_vars['rest_route'] : '';
		return 0 === strpos( '/' . ltrim( $route, '/' ), '/' . self::REST_NAMESPACE . '/' );
	}

	/**
	 * Forward one widget call to the app and answer with the app's status and body.
	 *
	 * @param WP_REST_Request $request The widget's request.
	 * @return WP_REST_Response
	 */
	public static function forward( WP_REST_Request $request ) {
		self::$raw_body = null;
		if ( ! Comeback_Connection::is_connected() ) {
			return self::error( 503, 'not_connected', __( 'This store is not connected to Comeback yet.', 'comeback' ) );
		}
		$path = (string) $request['path'];
		$body = (string) $request->get_body();
		if ( strlen( $body ) > self::MAX_BODY_BYTES ) {
			return self::error( 413, 'too_large', __( 'The request is too large.', 'comeback' ) );
		}
		$method = strtoupper( $request->get_method() );
		$pairs  = array();
		foreach ( self::shopper_query( $request ) as $pair ) {
			if ( ! in_array( $pair[0], self::RESERVED, true ) && ! in_array( $pair[0], self::WORDPRESS_PARAMS, true ) ) {
				$pairs[] = $pair;
			}
		}
		$user    = get_current_user_id();
		$pairs[] = array( 'platform', 'woocommerce' );
		$pairs[] = array( 'logged_in_customer_id', $user ? (string) $user : '' );
		$url     = Comeback_Connection::app_url() . '/proxy/' . $path . '?'
			. Comeback_Signer::build_query( Comeback_Connection::signed( $pairs ) );

		$headers = array(
			'Accept'     => 'application/json',
			'User-Agent' => Comeback_Connection::user_agent(),
		);
		// The shopper's address, for the app's per-shopper rate limits (believed because signed).
		$address = isset( $_SERVER['REMOTE_ADDR'] ) ? sanitize_text_field( wp_unslash( $_SERVER['REMOTE_ADDR'] ) ) : '';
		if ( '' !== $address && false !== filter_var( $address, FILTER_VALIDATE_IP ) ) {
			$headers['X-Forwarded-For'] = $address;
		}
		$language = $request->get_header( 'accept_language' );
		if ( $language ) {
			$headers['Accept-Language'] = substr( $language, 0, 200 );
		}
		$args = array(
			'method'      => $method,
			'timeout'     => 'GET' === $method ? 15 : 45,
			'redirection' => 0,
			'headers'     => $headers,
		);
		if ( 'GET' !== $method && '' !== $body ) {
			$args['headers']['Content-Type'] = 'application/json';
			$args['body']                    = $body;
		}
		$response = wp_remote_request( $url, $args );
		if ( is_wp_error( $response ) ) {
			return self::error( 502, 'unreachable', __( 'Comeback could not be reached. Please try again.', 'comeback' ) );
		}
		$status = (int) wp_remote_retrieve_response_code( $response );
		$raw    = (string) wp_remote_retrieve_body( $response );
		$data   = json_decode( $raw );
		if ( null === $data && ! in_array( trim( $raw ), array( '', 'null' ), true ) ) {
			return self::error( 502, 'bad_gateway', __( 'Comeback answered with something unexpected.', 'comeback' ) );
		}
		$answer = new WP_REST_Response( $data, $status );
		$retry  = wp_remote_retrieve_header( $response, 'retry-after' );
		if ( $retry ) {
			$answer->header( 'Retry-After', (string) $retry );
		}
		self::$raw_body = $raw;
		return $answer;
	}

	/**
	 * The shopper's own query parameters, in order and with repeated keys kept: read from the
	 * raw query string of the HTTP request when this is it, else from WordPress's parsed copy.
	 *
	 * @param WP_REST_Request $request The widget's request.
	 * @return array List of array( key, value ).
	 */
	private static function shopper_query( WP_REST_Request $request ) {
		$params = $request->get_query_params();
		$raw    = isset( $_SERVER['QUERY_STRING'] ) ? (string) wp_unslash( $_SERVER['QUERY_STRING'] ) : ''; // phpcs:ignore WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- signed and sent on as is, never output.
		if ( defined( 'REST_REQUEST' ) && REST_REQUEST && '' !== $raw ) {
			return Comeback_Signer::parse_query( $raw );
		}
		$pairs = array();
		foreach ( $params as $key => $value ) {
			foreach ( (array) $value as $one ) {
				if ( is_scalar( $one ) && Comeback_Signer::is_utf8( (string) $key ) && Comeback_Signer::is_utf8( (string) $one ) ) {
					$pairs[] = array( (string) $key, (string) $one );
				}
			}
		}
		return $pairs;
	}

	/**
	 * Serve the app's JSON byte for byte (WordPress would re-encode it: `{}` would become `[]`).
	 *
	 * @param bool             $served  Whether the request was served already.
	 * @param WP_HTTP_Response $result  The response.
	 * @param WP_REST_Request  $request The request.
	 * @return bool
	 */
	public static function serve_raw( $served, $result, $request ) {
		if ( $served || null === self::$raw_body || 0 !== strpos( $request->get_route(), '/' . self::REST_NAMESPACE . '/' ) ) {
			return $served;
		}
		if ( 'HEAD' !== $request->get_method() ) {
			echo self::$raw_body; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- JSON from the app, served as application/json.
		}
		self::$raw_body = null;
		return true;
	}

	/**
	 * An error in the app's own shape (`{"error", "code"}`), which the widget already reads.
	 *
	 * @param int    $status  HTTP status.
	 * @param string $code    Machine-readable code.
	 * @param string $message Shopper-facing message.
	 * @return WP_REST_Response
	 */
	private static function error( $status, $code, $message ) {
		$answer = new WP_REST_Response(
			array(
				'error' => $message,
				'code'  => $code,
			),
			$status
		);
		return $answer;
	}
}
