<?php
/**
 * The store's connection to the Comeback app: where the app is, which shop this store is there,
 * the shared secret, and the signed calls made with it.
 *
 * Options: `comeback_app_url` (the merchant's setting), `comeback_connection` (shop domain and the
 * widget's files, read on every storefront page) and `comeback_secret` (never autoloaded).
 *
 * @package Comeback
 */

defined( 'ABSPATH' ) || exit;

/**
 * Connection state and the app's endpoints.
 */
final class Comeback_Connection {

	const OPTION_APP_URL    = 'comeback_app_url';
	const OPTION_CONNECTION = 'comeback_connection';
	const OPTION_SECRET     = 'comeback_secret';

	/**
	 * The capability that manages Comeback: WooCommerce's shop managers and administrators.
	 * Without WooCommerce (it is required, but may be switched off) administrators keep access.
	 *
	 * @return string
	 */
	public static function capability() {
		return class_exists( 'WooCommerce' ) ? 'manage_woocommerce' : 'manage_options';
	}

	/**
	 * The app's base URL, without a trailing slash.
	 *
	 * @return string
	 */
	public static function app_url() {
		$url = (string) get_option( self::OPTION_APP_URL, '' );
		return untrailingslashit( '' !== $url ? $url : COMEBACK_DEFAULT_APP_URL );
	}

	/**
	 * The shop's domain in the app, or '' when not connected.
	 *
	 * @return string
	 */
	public static function shop() {
		$connection = get_option( self::OPTION_CONNECTION, array() );
		return is_array( $connection ) && ! empty( $connection['shop'] ) ? (string) $connection['shop'] : '';
	}

	/**
	 * One field of the stored connection ('widget_script', 'widget_style', ...).
	 *
	 * @param string $name The field.
	 * @return string
	 */
	public static function get( $name ) {
		$connection = get_option( self::OPTION_CONNECTION, array() );
		return is_array( $connection ) && isset( $connection[ $name ] ) ? (string) $connection[ $name ] : '';
	}

	/**
	 * The shared secret, or ''.
	 *
	 * @return string
	 */
	public static function secret() {
		return (string) get_option( self::OPTION_SECRET, '' );
	}

	/**
	 * Whether the store is connected (a shop and its secret are known).
	 *
	 * @return bool
	 */
	public static function is_connected() {
		return '' !== self::shop() && '' !== self::secret();
	}

	/**
	 * The store's own URL as the app knows it (WordPress's home URL).
	 *
	 * @return string
	 */
	public static function store_url() {
		return untrailingslashit( home_url() );
	}

	/**
	 * Where the merchant starts connecting: the app's connect page, which sends them through
	 * WooCommerce's key approval and back to `$return_url` with a single-use code.
	 *
	 * @param string $return_url The plugin's settings page (with its state).
	 * @return string
	 */
	public static function connect_url( $return_url ) {
		return self::app_url() . '/woocommerce/connect?' . Comeback_Signer::build_query(
			array(
				array( 'store_url', self::store_url() ),
				array( 'return_url', $return_url ),
			)
		);
	}

	/**
	 * Trade the single-use code for the shop's secret (server to server) and keep it.
	 *
	 * @param string $code The `comeback_code` the app sent the merchant back with.
	 * @return true|WP_Error
	 */
	public static function claim( $code ) {
		$response = wp_remote_post(
			self::app_url() . '/woocommerce/plugin/claim',
			array(
				'timeout'     => 20,
				'redirection' => 0,
				'headers'     => array(
					'Content-Type' => 'application/json',
					'Accept'       => 'application/json',
					'User-Agent'   => self::user_agent(),
				),
				'body'        => wp_json_encode(
					array(
						'code'      => (string) $code,
						'store_url' => self::store_url(),
					)
				),
			)
		);
		if ( is_wp_error( $response ) ) {
			return new WP_Error( 'comeback_unreachable', $response->get_error_message() );
		}
		$status = (int) wp_remote_retrieve_response_code( $response );
		$data   = json_decode( (string) wp_remote_retrieve_body( $response ), true );
		if ( 200 !== $status || ! is_array( $data ) || empty( $data['shop'] ) || empty( $data['secret'] ) ) {
			$detail = is_array( $data ) && ! empty( $data['error'] ) ? (string) $data['error'] : 'HTTP ' . $status;
			return new WP_Error( 'comeback_claim_refused', $detail );
		}
		update_option(
			self::OPTION_CONNECTION,
			array(
				'shop'          => sanitize_text_field( (string) $data['shop'] ),
				'app_url'       => esc_url_raw( (string) ( $data['app_url'] ?? '' ) ),
				'widget_script' => esc_url_raw( (string) ( $data['widget_script'] ?? '' ) ),
				'widget_style'  => esc_url_raw( (string) ( $data['widget_style'] ?? '' ) ),
				'connected_at'  => time(),
			),
			true
		);
		// The secret signs every shopper request: never autoloaded with the other options.
		update_option( self::OPTION_SECRET, (string) $data['secret'], false );
		return true;
	}

	/**
	 * Forget the connection (the app keeps the shop's data until it is uninstalled there).
	 */
	public static function disconnect() {
		delete_option( self::OPTION_CONNECTION );
		delete_option( self::OPTION_SECRET );
	}

	/**
	 * `$params` signed with the shop's secret and the current time, as query pairs.
	 *
	 * @param array $pairs List of array( key, value ), without shop/timestamp/signature.
	 * @return array
	 */
	public static function signed( array $pairs ) {
		$pairs[] = array( 'shop', self::shop() );
		$pairs[] = array( 'timestamp', (string) time() );
		return Comeback_Signer::sign( $pairs, self::secret() );
	}

	/**
	 * A signed JSON POST to one of the app's plugin endpoints (privacy): the body's SHA-256 is
	 * signed with the query, so neither can be changed on the way.
	 *
	 * @param string $path Path under the app, e.g. '/woocommerce/privacy/export'.
	 * @param array  $body The JSON body.
	 * @return array|WP_Error The decoded JSON answer.
	 */
	public static function post_signed( $path, array $body ) {
		if ( ! self::is_connected() ) {
			return new WP_Error( 'comeback_not_connected', __( 'This store is not connected to Comeback.', 'comeback' ) );
		}
		$raw      = wp_json_encode( $body );
		$query    = Comeback_Signer::build_query( self::signed( array( array( 'body_sha256', hash( 'sha256', $raw ) ) ) ) );
		$response = wp_remote_post(
			self::app_url() . $path . '?' . $query,
			array(
				'timeout'     => 30,
				'redirection' => 0,
				'headers'     => array(
					'Content-Type' => 'application/json',
					'Accept'       => 'application/json',
					'User-Agent'   => self::user_agent(),
				),
				'body'        => $raw,
			)
		);
		if ( is_wp_error( $response ) ) {
			return $response;
		}
		$status = (int) wp_remote_retrieve_response_code( $response );
		$data   = json_decode( (string) wp_remote_retrieve_body( $response ), true );
		if ( $status < 200 || $status >= 300 || ! is_array( $data ) ) {
			/* translators: %d: HTTP status code */
			return new WP_Error( 'comeback_refused', sprintf( __( 'Comeback answered with status %d.', 'comeback' ), $status ) );
		}
		return $data;
	}

	/**
	 * The User-Agent of the plugin's calls: plugin version and store.
	 *
	 * @return string
	 */
	public static function user_agent() {
		return 'Comeback-WordPress/' . COMEBACK_VERSION . ' (WordPress/' . get_bloginfo( 'version' ) . '; ' . home_url() . ')';
	}
}
